package dev.loupe.gateway.rest;

import java.net.URI;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.UriInfo;

import io.quarkus.grpc.GrpcClient;
import io.smallrye.mutiny.Uni;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.resteasy.reactive.RestHeader;
import org.jboss.resteasy.reactive.RestPath;
import org.jboss.resteasy.reactive.RestQuery;
import org.jboss.resteasy.reactive.RestResponse;

import dev.loupe.contracts.common.v1.PageRequest;
import dev.loupe.contracts.dataset.v1.CreateDatasetRequest;
import dev.loupe.contracts.dataset.v1.DeleteDatasetRequest;
import dev.loupe.contracts.dataset.v1.GetDatasetRequest;
import dev.loupe.contracts.dataset.v1.GetDatasetStatsRequest;
import dev.loupe.contracts.dataset.v1.ListDatasetsRequest;
import dev.loupe.contracts.dataset.v1.MutinyDatasetServiceGrpc.MutinyDatasetServiceStub;
import dev.loupe.contracts.dataset.v1.RotateDatasetKeyRequest;
import dev.loupe.gateway.api.CreateDatasetBody;
import dev.loupe.gateway.api.DatasetStatsView;
import dev.loupe.gateway.api.DatasetView;
import dev.loupe.gateway.api.KeyRotationView;
import dev.loupe.gateway.api.ListPage;
import dev.loupe.gateway.grpc.DownstreamCalls;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Capability;

/** Datasets of the caller's tenant, served by the dataset-service. */
@Path("/v1/datasets")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Datasets")
public class DatasetResource {
    private final MutinyDatasetServiceStub datasets;
    private final DownstreamCalls calls;

    public DatasetResource(@GrpcClient("dataset") MutinyDatasetServiceStub datasets, DownstreamCalls calls) {
        this.datasets = datasets;
        this.calls = calls;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Authorized(Capability.DATASETS_MANAGE)
    @Operation(summary = "Create a dataset", description = "A retry with the same Idempotency-Key and body returns "
            + "the first result with the header Idempotent-Replayed: true.")
    public Uni<RestResponse<DatasetView>> create(CreateDatasetBody body,
            @RestHeader("Idempotency-Key") String idempotencyKey, UriInfo uri) {
        if (body == null) {
            throw ProblemException.invalid("name", "a JSON body with a name is required");
        }
        CreateDatasetRequest request = CreateDatasetRequest.newBuilder()
                .setName(body.name() == null ? "" : body.name())
                .setDescription(body.description() == null ? "" : body.description())
                .setIdempotencyKey(idempotencyKey == null ? "" : idempotencyKey)
                .build();
        return calls.onBehalfOfCaller(datasets).createDataset(request).map(created -> {
            DatasetView view = DatasetView.of(created.getDataset());
            URI location = uri.getAbsolutePathBuilder().path(view.id()).build();
            return RestResponse.ResponseBuilder.<DatasetView>created(location)
                    .entity(view)
                    .header("Idempotent-Replayed", Boolean.toString(created.getReplayed()))
                    .build();
        });
    }

    @GET
    @Authorized(Capability.DATASETS_READ)
    @Operation(summary = "List datasets", description = "Oldest first; `limit` 1 to 100 (default 20), `after` is the "
            + "`next_after` of the previous page.")
    public Uni<ListPage<DatasetView>> list(@RestQuery String limit, @RestQuery String after) {
        ListDatasetsRequest request = ListDatasetsRequest.newBuilder()
                .setPage(PageRequest.newBuilder().setLimit(parseLimit(limit)).setAfter(after == null ? "" : after))
                .build();
        return calls.retryingRead(calls.onBehalfOfCaller(datasets).listDatasets(request))
                .map(page -> ListPage.of(page.getDatasetsList().stream().map(DatasetView::of).toList(),
                        page.getPage().getHasMore(), page.getPage().getNextAfter()));
    }

    @GET
    @Path("/{id}")
    @Authorized(Capability.DATASETS_READ)
    @Operation(summary = "Get a dataset")
    public Uni<DatasetView> get(@RestPath String id) {
        return calls
                .retryingRead(calls.onBehalfOfCaller(datasets)
                        .getDataset(GetDatasetRequest.newBuilder().setDatasetId(id).build()))
                .map(DatasetView::of);
    }

    @DELETE
    @Path("/{id}")
    @Authorized(Capability.DATASETS_MANAGE)
    @Operation(summary = "Delete a dataset", description = "Deletes its records and images and destroys its key "
            + "(crypto-shredding): copies of its blobs or rows taken before cannot be decrypted. 409 `legal-hold` "
            + "while the dataset is under legal hold, for every role.")
    public Uni<RestResponse<Void>> delete(@RestPath String id) {
        return calls.onBehalfOfCaller(datasets)
                .deleteDataset(DeleteDatasetRequest.newBuilder().setDatasetId(id).build())
                .map(deleted -> RestResponse.noContent());
    }

    @GET
    @Path("/{id}/stats")
    @Authorized(Capability.DATASETS_READ)
    @Operation(summary = "Statistics of the current records", description = "Image sizes and aspect ratios, text "
            + "lengths, annotation types, box labels, and the duplicates and rejected lines of the dataset's imports.")
    public Uni<DatasetStatsView> stats(@RestPath String id) {
        return calls.retryingRead(calls.onBehalfOfCaller(datasets)
                .getDatasetStats(GetDatasetStatsRequest.newBuilder().setDatasetId(id).build()))
                .map(DatasetStatsView::of);
    }

    @POST
    @Path("/{id}/key-rotations")
    @Authorized(Capability.DATASETS_MANAGE)
    @Operation(summary = "Rotate the dataset's key", description = "A new key version; every image's data key is "
            + "rewrapped under it, then the older versions are deleted for good, so copies of wrapped keys taken "
            + "before (a database backup) can never be decrypted. While an import of the dataset runs, the older "
            + "versions are deleted later, by the retention job (`older_versions_deleted: false`). 409 while "
            + "another rotation of the dataset runs.")
    public Uni<KeyRotationView> rotateKey(@RestPath String id) {
        return calls.onBehalfOfCaller(datasets)
                .rotateDatasetKey(RotateDatasetKeyRequest.newBuilder().setDatasetId(id).build())
                .map(KeyRotationView::of);
    }

    /** The page size as given, 0 when absent (the service default); the upper bound is the service's. */
    static int parseLimit(String limit) {
        if (limit == null || limit.isBlank()) {
            return 0;
        }
        try {
            int parsed = Integer.parseInt(limit.trim());
            if (parsed >= 1) {
                return parsed;
            }
        } catch (NumberFormatException e) {
            // answered below, like a number out of range
        }
        throw ProblemException.invalid("limit", "limit must be a whole number between 1 and 100");
    }
}
