package dev.loupe.gateway.rest;

import java.util.List;
import java.util.Map;

import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;

import io.quarkus.grpc.GrpcClient;
import io.smallrye.mutiny.Uni;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.resteasy.reactive.RestMulti;
import org.jboss.resteasy.reactive.RestPath;
import org.jboss.resteasy.reactive.RestQuery;

import dev.loupe.contracts.common.v1.PageRequest;
import dev.loupe.contracts.dataset.v1.DownloadImageRequest;
import dev.loupe.contracts.dataset.v1.EraseRecordsRequest;
import dev.loupe.contracts.dataset.v1.GetRecordRequest;
import dev.loupe.contracts.dataset.v1.ImageChunk;
import dev.loupe.contracts.dataset.v1.ListRecordsRequest;
import dev.loupe.contracts.dataset.v1.MutinyDatasetServiceGrpc.MutinyDatasetServiceStub;
import dev.loupe.gateway.api.ErasureView;
import dev.loupe.gateway.api.ListPage;
import dev.loupe.gateway.api.RecordView;
import dev.loupe.gateway.grpc.DownstreamCalls;
import dev.loupe.gateway.grpc.StreamHead;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Capability;

/** The records of a dataset of the caller's tenant, and their decrypted images. */
@Path("/v1/datasets/{id}/records")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Datasets")
public class RecordResource {
    private final MutinyDatasetServiceStub datasets;
    private final DownstreamCalls calls;

    public RecordResource(@GrpcClient("dataset") MutinyDatasetServiceStub datasets, DownstreamCalls calls) {
        this.datasets = datasets;
        this.calls = calls;
    }

    @GET
    @Authorized(Capability.DATASETS_READ)
    @Operation(summary = "List records", description = "The dataset's current records, oldest first, without image "
            + "bytes; `limit` 1 to 100 (default 20), `after` is the `next_after` of the previous page.")
    public Uni<ListPage<RecordView>> list(@RestPath String id, @RestQuery String limit, @RestQuery String after) {
        ListRecordsRequest request = ListRecordsRequest.newBuilder()
                .setDatasetId(id)
                .setPage(PageRequest.newBuilder()
                        .setLimit(DatasetResource.parseLimit(limit))
                        .setAfter(after == null ? "" : after))
                .build();
        return calls.retryingRead(calls.onBehalfOfCaller(datasets).listRecords(request))
                .map(page -> ListPage.of(page.getRecordsList().stream().map(RecordView::of).toList(),
                        page.getPage().getHasMore(), page.getPage().getNextAfter()));
    }

    @GET
    @Path("/{recordId}")
    @Authorized(Capability.DATASETS_READ)
    @Operation(summary = "Get a record")
    public Uni<RecordView> get(@RestPath String id, @RestPath String recordId) {
        return calls
                .retryingRead(calls.onBehalfOfCaller(datasets)
                        .getRecord(GetRecordRequest.newBuilder().setDatasetId(id).setRecordId(recordId).build()))
                .map(RecordView::of);
    }

    @GET
    @Path("/{recordId}/images/{index}")
    @Produces("image/png")
    @Authorized(Capability.IMAGES_VIEW)
    @Operation(summary = "Download a record's image", description = "The decrypted image at `index` (0-based) of "
            + "the record, as stored: a PNG without metadata. Every download is recorded in the audit trail; the "
            + "answer is never cached.")
    @APIResponse(responseCode = "200", description = "The image", content = @Content(mediaType = "image/png", schema = @Schema(type = SchemaType.STRING, format = "binary")))
    public RestMulti<byte[]> image(@RestPath String id, @RestPath String recordId, @RestPath String index) {
        DownloadImageRequest request = DownloadImageRequest.newBuilder()
                .setDatasetId(id)
                .setRecordId(recordId)
                .setImageIndex(parseIndex(index))
                .build();
        MutinyDatasetServiceStub stub = calls.onBehalfOfCaller(datasets);
        // The media type comes with the first chunk: wait for it before the response starts, so that a failure
        // before it (NOT_FOUND) still becomes a problem response.
        Uni<StreamHead<ImageChunk>> image = calls.retryingRead(StreamHead.of(stub.downloadImage(request)));
        return RestMulti.fromUniResponse(image, head -> head.all().map(chunk -> chunk.getData().toByteArray()),
                head -> Map.of(HttpHeaders.CONTENT_TYPE, List.of(mediaType(head.first())),
                        HttpHeaders.CACHE_CONTROL, List.of("no-store"),
                        "X-Content-Type-Options", List.of("nosniff")));
    }

    @DELETE
    @Path("/{recordId}")
    @Authorized(Capability.ERASURE_EXECUTE)
    @Operation(summary = "Erase a record", description = "Deletes the record, from the versions that hold it too, "
            + "and its images; then the dataset's key rotates, so that a backup taken before cannot unwrap the "
            + "erased images' keys. `erasure_request` names the erasure request this executes, for the audit trail. "
            + "409 `legal-hold` while the dataset is under legal hold.")
    public Uni<ErasureView> erase(@RestPath String id, @RestPath String recordId,
            @RestQuery("erasure_request") String erasureRequest) {
        return calls.onBehalfOfCaller(datasets)
                .eraseRecords(EraseRecordsRequest.newBuilder()
                        .setDatasetId(id)
                        .addRecordIds(recordId)
                        .setErasureRequestId(erasureRequest == null ? "" : erasureRequest)
                        .build())
                .map(ErasureView::of);
    }

    static int parseIndex(String index) {
        if (index != null && index.matches("[0-9]{1,9}")) {
            return Integer.parseInt(index);
        }
        throw ProblemException.invalid("index", "index must be a whole number, 0 or more");
    }

    private static String mediaType(ImageChunk first) {
        return first.getMediaType().isBlank() ? MediaType.APPLICATION_OCTET_STREAM : first.getMediaType();
    }
}
