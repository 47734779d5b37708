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
import dev.loupe.contracts.serving.v1.CreateDeploymentRequest;
import dev.loupe.contracts.serving.v1.DeleteDeploymentRequest;
import dev.loupe.contracts.serving.v1.DeploymentOptions;
import dev.loupe.contracts.serving.v1.GetDeploymentRequest;
import dev.loupe.contracts.serving.v1.GetMonitoringRequest;
import dev.loupe.contracts.serving.v1.ListDeploymentsRequest;
import dev.loupe.contracts.serving.v1.MutinyServingServiceGrpc.MutinyServingServiceStub;
import dev.loupe.gateway.api.CreateDeploymentBody;
import dev.loupe.gateway.api.DeploymentView;
import dev.loupe.gateway.api.ListPage;
import dev.loupe.gateway.api.MonitoringView;
import dev.loupe.gateway.grpc.DownstreamCalls;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Capability;

/**
 * Deployments of the caller's tenant, served by the serving-service: an approved model version's adapter loaded
 * beside its base model, answering chat completions under the deployment's name.
 */
@Path("/v1/deployments")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Deployments")
public class DeploymentResource {
    private final MutinyServingServiceStub serving;
    private final DownstreamCalls calls;

    public DeploymentResource(@GrpcClient("serving") MutinyServingServiceStub serving, DownstreamCalls calls) {
        this.serving = serving;
        this.calls = calls;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Authorized(Capability.DEPLOYMENTS_MANAGE)
    @Operation(summary = "Deploy a model version", description = "Loads an approved fine-tuned model version (409 "
            + "for a candidate, quarantined or retired one) and answers chat completions under `name`. Adapters on "
            + "the same base model share one copy of its weights. With `evaluation_schedule` (a Quartz cron "
            + "expression) and `evaluation_dataset_version`, the deployment is evaluated on that version's validation "
            + "split when the schedule comes due, and compared with its training-time scores. A retry with the same "
            + "Idempotency-Key returns the first deployment.")
    public Uni<RestResponse<DeploymentView>> create(CreateDeploymentBody body,
            @RestHeader("Idempotency-Key") String idempotencyKey, UriInfo uri) {
        if (body == null || body.model() == null || body.model().isBlank()) {
            throw ProblemException.invalid("model", "model must name an approved model version");
        }
        DeploymentOptions.Builder options = DeploymentOptions.newBuilder();
        if (body.maxBatchSize() != null) {
            options.setMaxBatchSize(body.maxBatchSize());
        }
        if (body.maxConcurrentSequences() != null) {
            options.setMaxConcurrentSequences(body.maxConcurrentSequences());
        }
        if (body.cacheEnabled() != null) {
            options.setCacheEnabled(body.cacheEnabled());
        }
        if (body.evaluationSchedule() != null) {
            options.setEvaluationSchedule(body.evaluationSchedule());
        }
        if (body.evaluationDatasetVersion() != null) {
            options.setEvaluationDatasetVersionId(body.evaluationDatasetVersion());
        }
        CreateDeploymentRequest request = CreateDeploymentRequest.newBuilder()
                .setModelVersionId(body.model())
                .setName(body.name() == null ? "" : body.name())
                .setOptions(options)
                .setIdempotencyKey(idempotencyKey == null ? "" : idempotencyKey)
                .build();
        // Loading a model takes longer than a plain call: the inference deadline applies.
        return calls.inferenceOnBehalfOfCaller(serving)
                .createDeployment(request)
                .onFailure(io.grpc.StatusRuntimeException.class)
                .transform(DeploymentResource::restFieldNames)
                .map(created -> {
                    DeploymentView view = DeploymentView.of(created);
                    URI location = uri.getAbsolutePathBuilder().path(view.id()).build();
                    return RestResponse.ResponseBuilder.<DeploymentView>created(location).entity(view).build();
                });
    }

    /** The request's model_version_id is the body's model; options are top-level fields of the body. */
    private static Throwable restFieldNames(Throwable failure) {
        ProblemException problem = dev.loupe.support.error.GrpcProblems
                .fromStatus((io.grpc.StatusRuntimeException) failure);
        return problem.field()
                .map(field -> (Throwable) new ProblemException(problem.type(), problem.detail(), field
                        .replace("model_version_id", "model")
                        .replace("options.", "")
                        .replace("evaluation_dataset_version_id", "evaluation_dataset_version")))
                .orElse(failure);
    }

    @GET
    @Authorized(Capability.DEPLOYMENTS_MANAGE)
    @Operation(summary = "List deployments", description = "`limit` 1 to 100 (default 20), `after` is the "
            + "`next_after` of the previous page.")
    public Uni<ListPage<DeploymentView>> list(@RestQuery String limit, @RestQuery String after) {
        ListDeploymentsRequest request = ListDeploymentsRequest.newBuilder()
                .setPage(PageRequest.newBuilder()
                        .setLimit(DatasetResource.parseLimit(limit))
                        .setAfter(after == null ? "" : after))
                .build();
        return calls.retryingRead(calls.onBehalfOfCaller(serving).listDeployments(request))
                .map(page -> ListPage.of(page.getDeploymentsList().stream().map(DeploymentView::of).toList(),
                        page.getPage().getHasMore(), page.getPage().getNextAfter()));
    }

    @GET
    @Path("/{id}")
    @Authorized(Capability.DEPLOYMENTS_MANAGE)
    @Operation(summary = "Get a deployment")
    public Uni<DeploymentView> get(@RestPath String id) {
        return calls.retryingRead(calls.onBehalfOfCaller(serving)
                .getDeployment(GetDeploymentRequest.newBuilder().setDeploymentId(id).build()))
                .map(DeploymentView::of);
    }

    @GET
    @Path("/{id}/monitoring")
    @Authorized(Capability.DEPLOYMENTS_MANAGE)
    @Operation(summary = "Monitor a deployment", description = "Latency percentiles (time to first token, per "
            + "token, whole request) over the last few minutes, requests and tokens per second over the last minute, "
            + "requests in progress and the response cache's hit rate (the same figures are on the serving-service's "
            + "/q/metrics); drift of live traffic from the training data, with drift events; the latest scheduled "
            + "evaluations next to the training-time scores.")
    public Uni<MonitoringView> monitoring(@RestPath String id) {
        return calls.retryingRead(calls.onBehalfOfCaller(serving)
                .getMonitoring(GetMonitoringRequest.newBuilder().setDeploymentId(id).build()))
                .map(MonitoringView::of);
    }

    @DELETE
    @Path("/{id}")
    @Authorized(Capability.DEPLOYMENTS_MANAGE)
    @Operation(summary = "Delete a deployment", description = "Stops serving it: requests waiting for it fail, its "
            + "adapter is freed (and its base model when no other deployment uses it).")
    public Uni<RestResponse<Void>> delete(@RestPath String id) {
        return calls.onBehalfOfCaller(serving)
                .deleteDeployment(DeleteDeploymentRequest.newBuilder().setDeploymentId(id).build())
                .map(deleted -> RestResponse.noContent());
    }
}
