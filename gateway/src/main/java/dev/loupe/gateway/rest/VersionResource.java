package dev.loupe.gateway.rest;

import java.net.URI;

import jakarta.ws.rs.Consumes;
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
import dev.loupe.contracts.dataset.v1.CreateVersionRequest;
import dev.loupe.contracts.dataset.v1.GetDatasetStatsRequest;
import dev.loupe.contracts.dataset.v1.GetVersionRequest;
import dev.loupe.contracts.dataset.v1.ListRecordsRequest;
import dev.loupe.contracts.dataset.v1.ListVersionsRequest;
import dev.loupe.contracts.dataset.v1.MutinyDatasetServiceGrpc.MutinyDatasetServiceStub;
import dev.loupe.gateway.api.CreateVersionBody;
import dev.loupe.gateway.api.DatasetStatsView;
import dev.loupe.gateway.api.ListPage;
import dev.loupe.gateway.api.RecordView;
import dev.loupe.gateway.api.VersionView;
import dev.loupe.gateway.grpc.DownstreamCalls;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Capability;

/** Frozen versions of a dataset of the caller's tenant. */
@Path("/v1/datasets/{id}/versions")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Datasets")
public class VersionResource {
    private final MutinyDatasetServiceStub datasets;
    private final DownstreamCalls calls;

    public VersionResource(@GrpcClient("dataset") MutinyDatasetServiceStub datasets, DownstreamCalls calls) {
        this.datasets = datasets;
        this.calls = calls;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Authorized(Capability.DATASETS_MANAGE)
    @Operation(summary = "Freeze a version", description = "An immutable version of the dataset's current records, "
            + "numbered 1, 2, ..., with a deterministic train / validation split by a keyed hash of each record id. "
            + "A retry with the same Idempotency-Key returns the same version.")
    public Uni<RestResponse<VersionView>> create(@RestPath String id, CreateVersionBody body,
            @RestHeader("Idempotency-Key") String idempotencyKey, UriInfo uri) {
        CreateVersionBody given = body == null ? new CreateVersionBody(null, null, null) : body;
        CreateVersionRequest request = CreateVersionRequest.newBuilder()
                .setDatasetId(id)
                .setValidationFraction(given.validationFraction() == null ? 0 : given.validationFraction())
                .setSplitSeed(given.splitSeed() == null ? 0 : given.splitSeed())
                .setDescription(given.description() == null ? "" : given.description())
                .setIdempotencyKey(idempotencyKey == null ? "" : idempotencyKey)
                .build();
        return calls.onBehalfOfCaller(datasets).createVersion(request).map(created -> {
            VersionView view = VersionView.of(created);
            URI location = uri.getAbsolutePathBuilder().path(view.id()).build();
            return RestResponse.ResponseBuilder.<VersionView>created(location).entity(view).build();
        });
    }

    @GET
    @Authorized(Capability.DATASETS_READ)
    @Operation(summary = "List versions", description = "Oldest first; `limit` 1 to 100 (default 20), `after` is the "
            + "`next_after` of the previous page.")
    public Uni<ListPage<VersionView>> list(@RestPath String id, @RestQuery String limit, @RestQuery String after) {
        ListVersionsRequest request = ListVersionsRequest.newBuilder()
                .setDatasetId(id)
                .setPage(PageRequest.newBuilder()
                        .setLimit(DatasetResource.parseLimit(limit))
                        .setAfter(after == null ? "" : after))
                .build();
        return calls.retryingRead(calls.onBehalfOfCaller(datasets).listVersions(request))
                .map(page -> ListPage.of(page.getVersionsList().stream().map(VersionView::of).toList(),
                        page.getPage().getHasMore(), page.getPage().getNextAfter()));
    }

    @GET
    @Path("/{versionId}")
    @Authorized(Capability.DATASETS_READ)
    @Operation(summary = "Get a version")
    public Uni<VersionView> get(@RestPath String id, @RestPath String versionId) {
        return calls.retryingRead(calls.onBehalfOfCaller(datasets)
                .getVersion(GetVersionRequest.newBuilder().setDatasetId(id).setVersionId(versionId).build()))
                .map(VersionView::of);
    }

    @GET
    @Path("/{versionId}/stats")
    @Authorized(Capability.DATASETS_READ)
    @Operation(summary = "Statistics of a version", description = "As for the dataset, over the version's records "
            + "and the imports they came from.")
    public Uni<DatasetStatsView> stats(@RestPath String id, @RestPath String versionId) {
        return calls.retryingRead(calls.onBehalfOfCaller(datasets)
                .getDatasetStats(GetDatasetStatsRequest.newBuilder().setDatasetId(id).setVersionId(versionId).build()))
                .map(DatasetStatsView::of);
    }

    @GET
    @Path("/{versionId}/records")
    @Authorized(Capability.DATASETS_READ)
    @Operation(summary = "List a version's records", description = "In manifest order, without image bytes; `limit` "
            + "1 to 100 (default 20), `after` is the `next_after` of the previous page. Records erased since the "
            + "version was frozen are not listed.")
    public Uni<ListPage<RecordView>> records(@RestPath String id, @RestPath String versionId,
            @RestQuery String limit, @RestQuery String after) {
        ListRecordsRequest request = ListRecordsRequest.newBuilder()
                .setDatasetId(id)
                .setVersionId(versionId)
                .setPage(PageRequest.newBuilder()
                        .setLimit(DatasetResource.parseLimit(limit))
                        .setAfter(after == null ? "" : after))
                .build();
        return calls.retryingRead(calls.onBehalfOfCaller(datasets).listRecords(request))
                .map(page -> ListPage.of(page.getRecordsList().stream().map(RecordView::of).toList(),
                        page.getPage().getHasMore(), page.getPage().getNextAfter()));
    }
}
