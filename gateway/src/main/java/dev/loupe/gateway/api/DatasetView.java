package dev.loupe.gateway.api;

import java.time.Instant;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import dev.loupe.contracts.dataset.v1.Dataset;
import dev.loupe.support.grpc.ProtoTime;

/** A dataset as the REST API shows it. */
@Schema(name = "Dataset")
public record DatasetView(String id, String object, String name, String description, long recordCount,
        Instant createdAt, Instant updatedAt, ActorView createdBy) {

    public static DatasetView of(Dataset dataset) {
        return new DatasetView(dataset.getId(), "dataset", dataset.getName(), dataset.getDescription(),
                dataset.getRecordCount(), ProtoTime.toInstant(dataset.getCreatedAt()),
                ProtoTime.toInstant(dataset.getUpdatedAt()), ActorView.of(dataset.getCreatedBy()));
    }
}
