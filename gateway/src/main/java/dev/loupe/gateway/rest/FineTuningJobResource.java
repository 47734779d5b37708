package dev.loupe.gateway.rest;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.stream.Collectors;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.UriInfo;
import jakarta.ws.rs.sse.OutboundSseEvent;
import jakarta.ws.rs.sse.Sse;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.grpc.GrpcClient;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.RestHeader;
import org.jboss.resteasy.reactive.RestPath;
import org.jboss.resteasy.reactive.RestQuery;
import org.jboss.resteasy.reactive.RestResponse;

import dev.loupe.contracts.common.v1.PageRequest;
import dev.loupe.contracts.training.v1.CreateJobRequest;
import dev.loupe.contracts.training.v1.GetJobRequest;
import dev.loupe.contracts.training.v1.Hyperparameters;
import dev.loupe.contracts.training.v1.JobActionRequest;
import dev.loupe.contracts.training.v1.JobEvent;
import dev.loupe.contracts.training.v1.JobState;
import dev.loupe.contracts.training.v1.ListCheckpointsRequest;
import dev.loupe.contracts.training.v1.ListJobEventsRequest;
import dev.loupe.contracts.training.v1.ListJobsRequest;
import dev.loupe.contracts.training.v1.LoraSettings;
import dev.loupe.contracts.training.v1.Method;
import dev.loupe.contracts.training.v1.MutinyTrainingServiceGrpc.MutinyTrainingServiceStub;
import dev.loupe.contracts.training.v1.Precision;
import dev.loupe.contracts.training.v1.TrainingMethod;
import dev.loupe.contracts.training.v1.WatchJobEventsRequest;
import dev.loupe.gateway.api.CheckpointView;
import dev.loupe.gateway.api.CreateJobBody;
import dev.loupe.gateway.api.JobEventView;
import dev.loupe.gateway.api.JobView;
import dev.loupe.gateway.api.ListPage;
import dev.loupe.gateway.grpc.DownstreamCalls;
import dev.loupe.support.error.GrpcProblems;
import dev.loupe.support.error.Problem;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Capability;

/**
 * Fine-tuning jobs of the caller's tenant, served by the training-service: a job trains a base model on a frozen
 * dataset version in its own worker, and reports events, metrics and checkpoints as it goes.
 */
@Path("/v1/fine-tuning/jobs")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Fine-tuning")
public class FineTuningJobResource {
    private static final Logger LOG = Logger.getLogger(FineTuningJobResource.class);

    /**
     * The live variant of a job's events. Its server-side quality is below JSON's, so that a request that does
     * not name {@code text/event-stream} in its Accept header (none, or {@code *}{@code /*}) gets the JSON page.
     */
    static final String EVENT_STREAM = MediaType.SERVER_SENT_EVENTS + ";qs=0.5";

    // One text for both variants of GET .../events, which OpenAPI shows as one operation.
    private static final String EVENTS_SUMMARY = "List or follow a job's events";
    private static final String EVENTS_DESCRIPTION = "Messages and the metrics of training steps, by sequence. As "
            + "JSON: a page; `limit` 1 to 100 (default 20), `after` is the `next_after` of the previous page (the "
            + "sequence of its last event). With `Accept: text/event-stream`: the events after `Last-Event-ID` "
            + "(else `after`, else from the first), then live until the job ends; each SSE event has the sequence "
            + "as `id`, the type (`message` or `metrics`) as `event` and the event as `data`. An unknown job is a "
            + "404 problem as for JSON. The stream also ends after a while: reconnect with Last-Event-ID. A "
            + "failure after the stream started ends it with a `problem` event whose data is a problem body.";

    /** Request fields of CreateJob by their REST names, where these differ. */
    private static final Map<String, String> REST_FIELD_NAMES = Map.of("dataset_version_id", "dataset_version");

    /** How often a live stream without events sends a comment. */
    static final Duration KEEP_ALIVE = Duration.ofSeconds(15);

    /** The SSE event name of a failure that ends the live stream after it started. */
    static final String PROBLEM_EVENT = "problem";

    private final MutinyTrainingServiceStub training;
    private final DownstreamCalls calls;

    public FineTuningJobResource(@GrpcClient("training") MutinyTrainingServiceStub training, DownstreamCalls calls) {
        this.training = training;
        this.calls = calls;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Authorized(Capability.JOBS_MANAGE)
    @Operation(summary = "Create a fine-tuning job", description = "Checks that the base model and the dataset "
            + "version exist, that the values are in range and that the estimated memory fits a worker, then "
            + "queues the job (`queued`; its worker then checks every example, `validating_files`, before `running`). Settings left out take the "
            + "training-service's defaults; the job shows the values it took. 400 names the field at fault, e.g. "
            + "`method.type` or `hyperparameters.precision`. A retry with the same Idempotency-Key and body returns "
            + "the first job with the header Idempotent-Replayed: true.")
    public Uni<RestResponse<JobView>> create(CreateJobBody body, @RestHeader("Idempotency-Key") String idempotencyKey,
            UriInfo uri) {
        CreateJobRequest request = createRequest(body, idempotencyKey);
        return calls.onBehalfOfCaller(training)
                .createJob(request)
                .onFailure(StatusRuntimeException.class)
                .transform(FineTuningJobResource::restFieldNames)
                .map(created -> {
                    JobView view = JobView.of(created.getJob());
                    URI location = uri.getAbsolutePathBuilder().path(view.id()).build();
                    return RestResponse.ResponseBuilder.<JobView>created(location)
                            .entity(view)
                            .header("Idempotent-Replayed", Boolean.toString(created.getReplayed()))
                            .build();
                });
    }

    @GET
    @Authorized(Capability.JOBS_READ)
    @Operation(summary = "List fine-tuning jobs", description = "`limit` 1 to 100 (default 20), `after` is "
            + "the `next_after` of the previous page. `status` (repeatable) keeps only the jobs in "
            + "those states.")
    public Uni<ListPage<JobView>> list(@RestQuery String limit, @RestQuery String after,
            @RestQuery List<String> status) {
        ListJobsRequest request = ListJobsRequest.newBuilder()
                .setPage(PageRequest.newBuilder()
                        .setLimit(DatasetResource.parseLimit(limit))
                        .setAfter(after == null ? "" : after))
                .addAllStates(parseStates(status))
                .build();
        return calls.retryingRead(calls.onBehalfOfCaller(training).listJobs(request))
                .map(page -> ListPage.of(page.getJobsList().stream().map(JobView::of).toList(),
                        page.getPage().getHasMore(), page.getPage().getNextAfter()));
    }

    @GET
    @Path("/{id}")
    @Authorized(Capability.JOBS_READ)
    @Operation(summary = "Get a fine-tuning job")
    public Uni<JobView> get(@RestPath String id) {
        return calls
                .retryingRead(calls.onBehalfOfCaller(training).getJob(GetJobRequest.newBuilder().setJobId(id).build()))
                .map(JobView::of);
    }

    @POST
    @Path("/{id}/cancel")
    @Authorized(Capability.JOBS_MANAGE)
    @Operation(summary = "Cancel a fine-tuning job", description = "Stops its worker; the job ends `cancelled` "
            + "and registers no model.")
    public Uni<JobView> cancel(@RestPath String id) {
        return calls.onBehalfOfCaller(training).cancelJob(action(id)).map(JobView::of);
    }

    @POST
    @Path("/{id}/pause")
    @Authorized(Capability.JOBS_MANAGE)
    @Operation(summary = "Pause a fine-tuning job", description = "Stops its worker; `resume` goes on from the "
            + "job's last checkpoint.")
    public Uni<JobView> pause(@RestPath String id) {
        return calls.onBehalfOfCaller(training).pauseJob(action(id)).map(JobView::of);
    }

    @POST
    @Path("/{id}/resume")
    @Authorized(Capability.JOBS_MANAGE)
    @Operation(summary = "Resume a paused fine-tuning job", description = "Queues it again, to go on from its last "
            + "checkpoint.")
    public Uni<JobView> resume(@RestPath String id) {
        return calls.onBehalfOfCaller(training).resumeJob(action(id)).map(JobView::of);
    }

    @GET
    @Path("/{id}/events")
    @Authorized(Capability.JOBS_READ)
    @Operation(summary = EVENTS_SUMMARY, description = EVENTS_DESCRIPTION)
    public Uni<ListPage<JobEventView>> events(@RestPath String id, @RestQuery String limit, @RestQuery String after) {
        ListJobEventsRequest request = ListJobEventsRequest.newBuilder()
                .setJobId(id)
                .setPage(PageRequest.newBuilder()
                        .setLimit(DatasetResource.parseLimit(limit))
                        .setAfter(after == null ? "" : after))
                .build();
        return calls.retryingRead(calls.onBehalfOfCaller(training).listJobEvents(request))
                .map(page -> ListPage.of(page.getEventsList().stream().map(JobEventView::of).toList(),
                        page.getPage().getHasMore(), page.getPage().getNextAfter()));
    }

    // Blocking: the job is read before the stream starts, see below.
    @GET
    @Path("/{id}/events")
    @Produces(EVENT_STREAM)
    @Blocking
    @Authorized(Capability.JOBS_READ)
    @Operation(summary = EVENTS_SUMMARY, description = EVENTS_DESCRIPTION)
    @APIResponse(responseCode = "200", description = "The job's events as server-sent events", content = @Content(mediaType = MediaType.SERVER_SENT_EVENTS, schema = @Schema(implementation = JobEventView.class)))
    public Multi<OutboundSseEvent> watchEvents(@RestPath String id, @RestQuery String after,
            @RestHeader("Last-Event-ID") String lastEventId, HttpHeaders headers, @Context Sse sse) {
        long afterSequence = lastEventId == null || lastEventId.isBlank()
                ? parseSequence("after", after)
                : parseSequence("Last-Event-ID", lastEventId);
        // An event stream's response starts (200) before its first event, which may be long in coming. Reading the
        // job first lets an unknown job or a refusal still answer as a problem, with its status.
        calls.retryingRead(calls.onBehalfOfCaller(training).getJob(GetJobRequest.newBuilder().setJobId(id).build()))
                .await()
                .indefinitely();
        Multi<JobEvent> events = calls.eventStreamOnBehalfOfCaller(training)
                .watchJobEvents(
                        WatchJobEventsRequest.newBuilder().setJobId(id).setAfterSequence(afterSequence).build());
        return eventStream(events, sse, headers.getHeaderString(RequestIdFilter.HEADER), KEEP_ALIVE);
    }

    @GET
    @Path("/{id}/checkpoints")
    @Authorized(Capability.JOBS_READ)
    @Operation(summary = "List a job's checkpoints", description = "By step; `limit` 1 to 100 (default 20), "
            + "`after` is the `next_after` of the previous page (the step of its last checkpoint).")
    public Uni<ListPage<CheckpointView>> checkpoints(@RestPath String id, @RestQuery String limit,
            @RestQuery String after) {
        ListCheckpointsRequest request = ListCheckpointsRequest.newBuilder()
                .setJobId(id)
                .setPage(PageRequest.newBuilder()
                        .setLimit(DatasetResource.parseLimit(limit))
                        .setAfter(after == null ? "" : after))
                .build();
        return calls.retryingRead(calls.onBehalfOfCaller(training).listCheckpoints(request))
                .map(page -> ListPage.of(page.getCheckpointsList().stream().map(CheckpointView::of).toList(),
                        page.getPage().getHasMore(), page.getPage().getNextAfter()));
    }

    /**
     * The request a body asks for. A setting the body leaves out stays unset, so that the training-service applies
     * its default; names the service does not take (an unknown method type or precision) are refused here,
     * naming the field.
     */
    static CreateJobRequest createRequest(CreateJobBody body, String idempotencyKey) {
        if (body == null) {
            throw ProblemException.invalid("model", "a JSON body with a model and a dataset_version is required");
        }
        CreateJobRequest.Builder request = CreateJobRequest.newBuilder()
                .setModel(orEmpty(body.model()))
                .setDatasetVersionId(orEmpty(body.datasetVersion()))
                .setValidationSplit(orEmpty(body.validationSplit()))
                .setSuffix(orEmpty(body.suffix()))
                .setIdempotencyKey(orEmpty(idempotencyKey));
        if (body.method() != null) {
            request.setMethod(method(body.method()));
        }
        if (body.hyperparameters() != null) {
            request.setHyperparameters(hyperparameters(body.hyperparameters()));
        }
        if (body.seed() != null) {
            request.setSeed(body.seed());
        }
        if (body.metadata() != null) {
            if (body.metadata().containsValue(null)) {
                throw ProblemException.invalid("metadata", "metadata values must be strings");
            }
            request.putAllMetadata(body.metadata());
        }
        if (body.priority() != null) {
            request.setPriority(body.priority());
        }
        return request.build();
    }

    private static Method method(CreateJobBody.MethodBody body) {
        Method.Builder method = Method.newBuilder().setType(parseMethod(body.type()));
        CreateJobBody.LoraBody given = body.lora();
        if (given != null) {
            LoraSettings.Builder lora = LoraSettings.newBuilder();
            if (given.rank() != null) {
                lora.setRank(given.rank());
            }
            if (given.alpha() != null) {
                lora.setAlpha(given.alpha());
            }
            if (given.dropout() != null) {
                lora.setDropout(given.dropout());
            }
            if (given.targetModules() != null) {
                if (given.targetModules().contains(null)) {
                    throw ProblemException.invalid("method.lora.target_modules", "target_modules must be strings");
                }
                lora.addAllTargetModules(given.targetModules());
            }
            method.setLora(lora);
        }
        if (body.freezeVisionEncoder() != null) {
            method.setFreezeVisionEncoder(body.freezeVisionEncoder());
        }
        if (body.trainProjector() != null) {
            method.setTrainProjector(body.trainProjector());
        }
        return method.build();
    }

    private static Hyperparameters hyperparameters(CreateJobBody.HyperparametersBody body) {
        Hyperparameters.Builder hyperparameters = Hyperparameters.newBuilder()
                .setPrecision(parsePrecision(body.precision()));
        if (body.epochs() != null) {
            hyperparameters.setEpochs(body.epochs());
        }
        if (body.batchSize() != null) {
            hyperparameters.setBatchSize(body.batchSize());
        }
        if (body.learningRate() != null) {
            hyperparameters.setLearningRate(body.learningRate());
        }
        if (body.visionLearningRateMultiplier() != null) {
            hyperparameters.setVisionLearningRateMultiplier(body.visionLearningRateMultiplier());
        }
        if (body.warmupRatio() != null) {
            hyperparameters.setWarmupRatio(body.warmupRatio());
        }
        if (body.weightDecay() != null) {
            hyperparameters.setWeightDecay(body.weightDecay());
        }
        if (body.maxGradNorm() != null) {
            hyperparameters.setMaxGradNorm(body.maxGradNorm());
        }
        if (body.gradientAccumulationSteps() != null) {
            hyperparameters.setGradientAccumulationSteps(body.gradientAccumulationSteps());
        }
        return hyperparameters.build();
    }

    static TrainingMethod parseMethod(String type) {
        if (type == null) {
            return TrainingMethod.TRAINING_METHOD_UNSPECIFIED;
        }
        return Arrays.stream(TrainingMethod.values())
                .filter(method -> type.equals(JobView.methodName(method)))
                .findFirst()
                .orElseThrow(() -> ProblemException.invalid("method.type", "method.type must be lora or full"));
    }

    static Precision parsePrecision(String precision) {
        if (precision == null) {
            return Precision.PRECISION_UNSPECIFIED;
        }
        return Arrays.stream(Precision.values())
                .filter(value -> precision.equals(JobView.precisionName(value)))
                .findFirst()
                .orElseThrow(() -> ProblemException.invalid("hyperparameters.precision",
                        "hyperparameters.precision must be fp32, fp16 or bf16"));
    }

    /** The states of the {@code status} filter; blank values are ignored. */
    static List<JobState> parseStates(List<String> statuses) {
        List<JobState> states = new ArrayList<>();
        if (statuses == null) {
            return states;
        }
        for (String status : statuses) {
            if (status == null || status.isBlank()) {
                continue;
            }
            states.add(Arrays.stream(JobState.values())
                    .filter(state -> status.trim().equals(JobView.statusName(state)))
                    .findFirst()
                    .orElseThrow(() -> ProblemException.invalid("status", "status must be one of "
                            + Arrays.stream(JobState.values())
                                    .map(JobView::statusName)
                                    .filter(Objects::nonNull)
                                    .collect(Collectors.joining(", ")))));
        }
        return states;
    }

    /** An event sequence number, 0 (before the first event) when absent. */
    static long parseSequence(String field, String value) {
        if (value == null || value.isBlank()) {
            return 0;
        }
        if (value.trim().matches("[0-9]{1,18}")) {
            return Long.parseLong(value.trim());
        }
        throw ProblemException.invalid(field, field + " must be an event sequence number, 0 or more");
    }

    /**
     * The job's events as server-sent events. The response has started when the stream fails, so the failure
     * becomes a last {@code problem} event instead of a status. The stream's deadline passing ends it quietly:
     * the client reconnects with Last-Event-ID.
     */
    /**
     * The SSE events of a job's events; a comment every {@code keepAlive} while none comes, so that proxies do not
     * cut a quiet stream (a job evaluating for minutes reports nothing). It ends when the events end.
     */
    static Multi<OutboundSseEvent> eventStream(Multi<JobEvent> events, Sse sse, String requestId,
            Duration keepAlive) {
        OutboundSseEvent end = sse.newEventBuilder().comment("end").build();
        Multi<OutboundSseEvent> comments = Multi.createFrom()
                .ticks()
                .every(keepAlive)
                .map(tick -> sse.newEventBuilder().comment("keep-alive").build());
        return Multi.createBy()
                .merging()
                .streams(eventsOf(events, sse, requestId).onCompletion().continueWith(end), comments)
                .select()
                .first(event -> event != end);
    }

    private static Multi<OutboundSseEvent> eventsOf(Multi<JobEvent> events, Sse sse, String requestId) {
        return events
                .map(event -> sse.newEventBuilder()
                        .id(Long.toString(event.getSequence()))
                        .name(JobEventView.typeName(event.getType()))
                        .mediaType(MediaType.APPLICATION_JSON_TYPE)
                        .data(JobEventView.class, JobEventView.of(event))
                        .build())
                .onFailure()
                .recoverWithMulti(failure -> {
                    if (failure instanceof StatusRuntimeException status
                            && status.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED) {
                        return Multi.createFrom().empty();
                    }
                    Problem problem = problemOf(failure, requestId);
                    return Multi.createFrom()
                            .item(sse.newEventBuilder()
                                    .name(PROBLEM_EVENT)
                                    .mediaType(MediaType.APPLICATION_JSON_TYPE)
                                    .data(Problem.class, problem)
                                    .build());
                });
    }

    /** The problem body of a failed stream; unexpected failures are logged here and leave only their error id. */
    private static Problem problemOf(Throwable failure, String requestId) {
        if (failure instanceof StatusRuntimeException status) {
            ProblemException problem = GrpcProblems.fromStatus(status);
            if (problem.type() == ProblemType.INTERNAL) {
                LOG.errorf("Event stream failed with %s", status.getStatus());
            }
            return Problem.of(problem.type(), problem.detail(), problem.field().orElse(null), requestId);
        }
        String errorId = UUID.randomUUID().toString();
        LOG.errorf(failure, "Unexpected error %s in an event stream", errorId);
        return Problem.of(ProblemType.INTERNAL, "unexpected error; quote error id " + errorId + " to your operator",
                null, requestId);
    }

    /**
     * A failed create's problem with the field at fault as the REST body names it: the training-service names
     * fields as the contract does, and the two differ where the body drops the contract's {@code _id}.
     */
    static Throwable restFieldNames(Throwable failure) {
        ProblemException problem = GrpcProblems.fromStatus((StatusRuntimeException) failure);
        return problem.field()
                .filter(REST_FIELD_NAMES::containsKey)
                .<Throwable>map(field -> new ProblemException(problem.type(), problem.detail(),
                        REST_FIELD_NAMES.get(field)))
                .orElse(failure);
    }

    private static JobActionRequest action(String id) {
        return JobActionRequest.newBuilder().setJobId(id).build();
    }

    private static String orEmpty(String value) {
        return value == null ? "" : value;
    }
}
