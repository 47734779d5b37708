package dev.loupe.gateway.rest;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import io.quarkus.grpc.GrpcClient;
import io.smallrye.mutiny.Uni;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.resteasy.reactive.RestPath;

import dev.loupe.contracts.dataset.v1.MutinyDatasetServiceGrpc.MutinyDatasetServiceStub;
import dev.loupe.contracts.dataset.v1.PlaceLegalHoldRequest;
import dev.loupe.contracts.dataset.v1.ReleaseLegalHoldRequest;
import dev.loupe.contracts.dataset.v1.SetRetentionPolicyRequest;
import dev.loupe.gateway.api.DatasetView;
import dev.loupe.gateway.api.LegalHoldBody;
import dev.loupe.gateway.api.RetentionBody;
import dev.loupe.gateway.grpc.DownstreamCalls;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Capability;

/** The retention policy and legal hold of a dataset of the caller's tenant. Every change is audited. */
@Path("/v1/datasets/{id}")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Datasets")
public class RetentionResource {
    private final MutinyDatasetServiceStub datasets;
    private final DownstreamCalls calls;

    public RetentionResource(@GrpcClient("dataset") MutinyDatasetServiceStub datasets, DownstreamCalls calls) {
        this.datasets = datasets;
        this.calls = calls;
    }

    @PUT
    @Path("/retention")
    @Consumes(MediaType.APPLICATION_JSON)
    @Authorized(Capability.RETENTION_MANAGE)
    @Operation(summary = "Set the retention policy", description = "Once `max_age_days` have passed since the "
            + "dataset's creation, the retention job (hourly) deletes it and destroys its key, unless it is under "
            + "legal hold then. 0 keeps it until deleted.")
    public Uni<DatasetView> setRetention(@RestPath String id, RetentionBody body) {
        if (body == null || body.maxAgeDays() == null) {
            throw ProblemException.invalid("max_age_days", "max_age_days is required: 0, or 1 to 36500");
        }
        return calls.onBehalfOfCaller(datasets)
                .setRetentionPolicy(SetRetentionPolicyRequest.newBuilder()
                        .setDatasetId(id)
                        .setMaxAgeDays(body.maxAgeDays())
                        .build())
                .map(DatasetView::of);
    }

    @PUT
    @Path("/legal-hold")
    @Consumes(MediaType.APPLICATION_JSON)
    @Authorized(Capability.RETENTION_MANAGE)
    @Operation(summary = "Place a legal hold", description = "While held, the dataset cannot be deleted, expire, or "
            + "have records erased, whoever asks (409 `legal-hold`). 409 `conflict` if it is already held.")
    public Uni<DatasetView> placeLegalHold(@RestPath String id, LegalHoldBody body) {
        if (body == null || body.reason() == null) {
            throw ProblemException.invalid("reason", "reason is required: 1 to 1000 characters");
        }
        return calls.onBehalfOfCaller(datasets)
                .placeLegalHold(PlaceLegalHoldRequest.newBuilder().setDatasetId(id).setReason(body.reason()).build())
                .map(DatasetView::of);
    }

    @DELETE
    @Path("/legal-hold")
    @Authorized(Capability.RETENTION_MANAGE)
    @Operation(summary = "Release the legal hold", description = "409 `conflict` if the dataset is not held.")
    public Uni<DatasetView> releaseLegalHold(@RestPath String id) {
        return calls.onBehalfOfCaller(datasets)
                .releaseLegalHold(ReleaseLegalHoldRequest.newBuilder().setDatasetId(id).build())
                .map(DatasetView::of);
    }
}
