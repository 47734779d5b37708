package dev.loupe.gateway.api;

import java.time.Instant;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import dev.loupe.contracts.dataset.v1.Dataset;
import dev.loupe.support.grpc.ProtoTime;

/**
 * A dataset as the REST API shows it.
 *
 * @param retentionMaxAgeDays days after {@code created_at} when the retention job deletes the dataset; null when
 *        it is kept until deleted
 * @param expiresAt when the retention job deletes it (unless under legal hold then); null without a policy
 * @param legalHold null unless the dataset is under legal hold
 */
@Schema(name = "Dataset")
public record DatasetView(String id, String object, String name, String description, long recordCount,
        Instant createdAt, Instant updatedAt, ActorView createdBy, Integer retentionMaxAgeDays, Instant expiresAt,
        LegalHoldView legalHold) {

    /** Why and since when a dataset is under legal hold, and who placed it. */
    @Schema(name = "LegalHold")
    public record LegalHoldView(String reason, Instant placedAt, ActorView placedBy) {
    }

    public static DatasetView of(Dataset dataset) {
        return new DatasetView(dataset.getId(), "dataset", dataset.getName(), dataset.getDescription(),
                dataset.getRecordCount(), ProtoTime.toInstant(dataset.getCreatedAt()),
                ProtoTime.toInstant(dataset.getUpdatedAt()), ActorView.of(dataset.getCreatedBy()),
                dataset.getRetentionMaxAgeDays() == 0 ? null : dataset.getRetentionMaxAgeDays(),
                dataset.hasExpiresAt() ? ProtoTime.toInstant(dataset.getExpiresAt()) : null,
                dataset.hasLegalHold()
                        ? new LegalHoldView(dataset.getLegalHold().getReason(),
                                ProtoTime.toInstant(dataset.getLegalHold().getPlacedAt()),
                                ActorView.of(dataset.getLegalHold().getPlacedBy()))
                        : null);
    }
}
