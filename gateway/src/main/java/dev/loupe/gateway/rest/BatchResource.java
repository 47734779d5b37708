package dev.loupe.gateway.rest;

import java.net.URI;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.UriInfo;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.grpc.GrpcClient;
import io.smallrye.mutiny.Uni;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.resteasy.reactive.RestHeader;
import org.jboss.resteasy.reactive.RestPath;
import org.jboss.resteasy.reactive.RestQuery;
import org.jboss.resteasy.reactive.RestResponse;

import dev.loupe.contracts.common.v1.PageRequest;
import dev.loupe.contracts.serving.v1.BatchSplit;
import dev.loupe.contracts.serving.v1.CancelBatchRequest;
import dev.loupe.contracts.serving.v1.CreateBatchRequest;
import dev.loupe.contracts.serving.v1.GetBatchRequest;
import dev.loupe.contracts.serving.v1.ListBatchResultsRequest;
import dev.loupe.contracts.serving.v1.ListBatchesRequest;
import dev.loupe.contracts.serving.v1.MutinyBatchServiceGrpc.MutinyBatchServiceStub;
import dev.loupe.gateway.api.BatchView;
import dev.loupe.gateway.api.ListPage;
import dev.loupe.gateway.grpc.DownstreamCalls;
import dev.loupe.support.error.GrpcProblems;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Capability;

/**
 * Batch inference: a deployment of the caller's tenant answers every example of one of the tenant's dataset
 * versions (a split), the answers kept encrypted by the serving-service.
 */
@Path("/v1/batches")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Batches")
public class BatchResource {
    private final MutinyBatchServiceStub batches;
    private final DownstreamCalls calls;

    public BatchResource(@GrpcClient("serving") MutinyBatchServiceStub batches, DownstreamCalls calls) {
        this.batches = batches;
        this.calls = calls;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Authorized(Capability.INFERENCE)
    @Operation(summary = "Start a batch", description = "`model` names a deployment, `dataset_version` a dataset "
            + "version of the tenant; `split` validation (default) or train; `max_tokens` per answer (default 256), "
            + "`temperature` 0 to 2 (default 0: greedy), `response_format` with a `json_schema` as in chat "
            + "completions. Every example's prompt is its conversation up to its last assistant turn. Answers are "
            + "stored encrypted; follow `status`, `completed` and `total`, read them at /v1/batches/{id}/results. "
            + "A retry with the same Idempotency-Key returns the first batch.")
    public Uni<RestResponse<BatchView>> create(JsonNode body, @RestHeader("Idempotency-Key") String idempotencyKey,
            UriInfo uri) {
        if (body == null || !body.isObject()) {
            throw ProblemException.invalid("model", "the body must be a JSON object naming model and dataset_version");
        }
        CreateBatchRequest.Builder request = CreateBatchRequest.newBuilder()
                .setDeploymentId(ChatCompletionResource.text(body, "model", "model"))
                .setDatasetVersionId(ChatCompletionResource.text(body, "dataset_version", "dataset_version"))
                .setIdempotencyKey(idempotencyKey == null ? "" : idempotencyKey);
        JsonNode split = body.path("split");
        if (!split.isMissingNode() && !split.isNull()) {
            request.setSplit(switch (split.asText()) {
                case "validation" -> BatchSplit.BATCH_SPLIT_VALIDATION;
                case "train" -> BatchSplit.BATCH_SPLIT_TRAIN;
                default -> throw ProblemException.invalid("split", "split must be validation or train");
            });
        }
        JsonNode maxTokens = body.path("max_tokens");
        if (!maxTokens.isMissingNode() && !maxTokens.isNull()) {
            if (!maxTokens.isIntegralNumber() || !maxTokens.canConvertToInt()) {
                throw ProblemException.invalid("max_tokens", "max_tokens must be an integer");
            }
            request.setMaxTokens(maxTokens.asInt());
        }
        ChatCompletionResource.number(body, "temperature").ifPresent(request::setTemperature);
        ChatCompletionResource.jsonSchema(body).ifPresent(request::setJsonSchema);
        return calls.onBehalfOfCaller(batches)
                .createBatch(request.build())
                .onFailure(io.grpc.StatusRuntimeException.class)
                .transform(BatchResource::restFieldNames)
                .map(created -> {
                    BatchView view = BatchView.of(created);
                    URI location = uri.getAbsolutePathBuilder().path(view.id()).build();
                    return RestResponse.ResponseBuilder.<BatchView>created(location).entity(view).build();
                });
    }

    /** The serving-service names its fields as the REST body does, but for the version's id. */
    private static Throwable restFieldNames(Throwable failure) {
        ProblemException problem = GrpcProblems.fromStatus((io.grpc.StatusRuntimeException) failure);
        return problem.field()
                .map(field -> (Throwable) new ProblemException(problem.type(), problem.detail(),
                        field.replace("dataset_version_id", "dataset_version")))
                .orElse(failure);
    }

    @GET
    @Authorized(Capability.INFERENCE)
    @Operation(summary = "List batches", description = "`limit` 1 to 100 (default 20), `after` is the `next_after` "
            + "of the previous page.")
    public Uni<ListPage<BatchView>> list(@RestQuery String limit, @RestQuery String after) {
        ListBatchesRequest request = ListBatchesRequest.newBuilder()
                .setPage(PageRequest.newBuilder()
                        .setLimit(DatasetResource.parseLimit(limit))
                        .setAfter(after == null ? "" : after))
                .build();
        return calls.retryingRead(calls.onBehalfOfCaller(batches).listBatches(request))
                .map(page -> ListPage.of(page.getBatchesList().stream().map(BatchView::of).toList(),
                        page.getPage().getHasMore(), page.getPage().getNextAfter()));
    }

    @GET
    @Path("/{id}")
    @Authorized(Capability.INFERENCE)
    @Operation(summary = "Get a batch", description = "Its status and progress.")
    public Uni<BatchView> get(@RestPath String id) {
        return calls.retryingRead(calls.onBehalfOfCaller(batches)
                .getBatch(GetBatchRequest.newBuilder().setBatchId(id).build()))
                .map(BatchView::of);
    }

    @POST
    @Path("/{id}/cancel")
    @Authorized(Capability.INFERENCE)
    @Operation(summary = "Cancel a batch", description = "Stops a queued or running batch within a few examples; "
            + "the answers stored so far stay readable. 409 once it has ended.")
    public Uni<BatchView> cancel(@RestPath String id) {
        return calls.onBehalfOfCaller(batches)
                .cancelBatch(CancelBatchRequest.newBuilder().setBatchId(id).build())
                .map(BatchView::of);
    }

    @GET
    @Path("/{id}/results")
    @Authorized(Capability.INFERENCE)
    @Operation(summary = "Read a batch's answers", description = "Decrypted, in the dataset version's manifest "
            + "order; `limit` 1 to 100 (default 20), `after` is the `next_after` of the previous page. Every read is "
            + "audited.")
    public Uni<ListPage<BatchView.ResultView>> results(@RestPath String id, @RestQuery String limit,
            @RestQuery String after) {
        ListBatchResultsRequest request = ListBatchResultsRequest.newBuilder()
                .setBatchId(id)
                .setPage(PageRequest.newBuilder()
                        .setLimit(DatasetResource.parseLimit(limit))
                        .setAfter(after == null ? "" : after))
                .build();
        return calls.onBehalfOfCaller(batches)
                .listBatchResults(request)
                .map(page -> ListPage.of(page.getResultsList().stream().map(BatchView.ResultView::of).toList(),
                        page.getPage().getHasMore(), page.getPage().getNextAfter()));
    }
}
