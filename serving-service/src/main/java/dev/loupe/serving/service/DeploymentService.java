package dev.loupe.serving.service;

import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import jakarta.enterprise.context.ApplicationScoped;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import org.jboss.logging.Logger;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.contracts.serving.v1.CreateDeploymentRequest;
import dev.loupe.contracts.serving.v1.DeploymentOptions;
import dev.loupe.contracts.training.v1.GetModelVersionStatesRequest;
import dev.loupe.contracts.training.v1.LoadModelVersionForServingRequest;
import dev.loupe.contracts.training.v1.ModelVersionState;
import dev.loupe.contracts.training.v1.ServingArtifact;
import dev.loupe.contracts.training.v1.ServingArtifactHeader;
import dev.loupe.contracts.training.v1.TrainingServiceGrpc.TrainingServiceBlockingStub;
import dev.loupe.serving.batch.DatasetExamples;
import dev.loupe.serving.config.ServingConfig;
import dev.loupe.serving.evaluation.EvaluationSchedule;
import dev.loupe.serving.inference.LoadedDeployments;
import dev.loupe.serving.model.Batch;
import dev.loupe.serving.model.Deployment;
import dev.loupe.serving.repository.DeploymentRepository;
import dev.loupe.support.audit.AuditEvents;
import dev.loupe.support.audit.ServiceAccountTokens;
import dev.loupe.support.error.GrpcProblems;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.support.id.Ids;
import dev.loupe.support.security.Caller;

/**
 * Deployments: an approved model version's weights are loaded from the training-service's registry (by this
 * service's account, naming the tenant and the user who deploys; the registry audits the load), then the deployment
 * is recorded. Every few seconds the service reconciles what it serves with what is recorded: deployments not yet
 * in memory (after a restart) are loaded again, and those whose version is no longer approved (quarantined or
 * retired) are suspended.
 */
@ApplicationScoped
public class DeploymentService {
    public static final String AUDIT_SOURCE = "serving-service";
    private static final Logger LOG = Logger.getLogger(DeploymentService.class);
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._:-]{0,99}");
    private static final int MAX_BATCH_SIZE = 64;
    private static final int MAX_CONCURRENT_SEQUENCES = 1024;
    private static final Duration LOAD_DEADLINE = Duration.ofMinutes(5);
    private static final int PAGE_LIMIT = 100;
    private static final int DEFAULT_PAGE = 20;

    private final DeploymentRepository deployments;
    private final LoadedDeployments loaded;
    private final TrainingServiceBlockingStub training;
    private final ServiceAccountTokens tokens;
    private final DatasetExamples examples;
    private final ServingConfig config;
    /** Deployments loaded but perhaps not yet committed: reconciling must not take them for deleted ones. */
    private final Set<String> creating = ConcurrentHashMap.newKeySet();

    public DeploymentService(DeploymentRepository deployments, LoadedDeployments loaded,
            @GrpcClient("training") TrainingServiceBlockingStub training, ServiceAccountTokens tokens,
            DatasetExamples examples, ServingConfig config) {
        this.deployments = deployments;
        this.loaded = loaded;
        this.training = training;
        this.tokens = tokens;
        this.examples = examples;
        this.config = config;
    }

    /** A new deployment, or the one an earlier request with the same Idempotency-Key created. */
    public Uni<Deployment> create(Caller caller, CreateDeploymentRequest request) {
        String tenant = caller.requireTenant();
        DeploymentOptions options = request.getOptions();
        int maxBatchSize = options.hasMaxBatchSize()
                ? options.getMaxBatchSize()
                : config.deployments().defaultMaxBatchSize();
        int maxConcurrent = options.hasMaxConcurrentSequences()
                ? options.getMaxConcurrentSequences()
                : config.deployments().defaultMaxConcurrentSequences();
        if (maxBatchSize < 1 || maxBatchSize > MAX_BATCH_SIZE) {
            throw ProblemException.invalid("options.max_batch_size", "max_batch_size must be 1 to " + MAX_BATCH_SIZE);
        }
        if (maxConcurrent < 1 || maxConcurrent > MAX_CONCURRENT_SEQUENCES) {
            throw ProblemException.invalid("options.max_concurrent_sequences", "max_concurrent_sequences must be 1 to "
                    + MAX_CONCURRENT_SEQUENCES);
        }
        String schedule = options.getEvaluationSchedule().strip();
        String evaluationVersion = options.getEvaluationDatasetVersionId();
        if (!schedule.isEmpty()) {
            EvaluationSchedule.parse(schedule);
            if (Ids.parse(evaluationVersion).isEmpty()) {
                throw ProblemException.invalid("options.evaluation_dataset_version_id", "a scheduled evaluation needs"
                        + " evaluation_dataset_version_id: a frozen dataset version of the tenant");
            }
        } else if (!evaluationVersion.isEmpty()) {
            throw ProblemException.invalid("options.evaluation_schedule", "evaluation_dataset_version_id needs an "
                    + "evaluation_schedule (a Quartz cron expression)");
        }
        if (Ids.parse(request.getModelVersionId()).isEmpty()) {
            throw ProblemException.invalid("model_version_id", "model_version_id must be a model version's id");
        }
        if (!request.getName().isEmpty() && !NAME.matcher(request.getName()).matches()) {
            throw ProblemException.invalid("name", "name must be 1 to 100 lower-case letters, digits, '.', '_', ':'"
                    + " or '-', starting with a letter or digit");
        }
        String key = request.getIdempotencyKey();
        Uni<Optional<Deployment>> earlier = key.isEmpty()
                ? Uni.createFrom().item(Optional.empty())
                : deployments.byIdempotencyKey(deployments.pool(), tenant, key);
        return earlier.chain(found -> {
            if (found.isPresent()) {
                if (!found.get().modelVersionId().equals(request.getModelVersionId())) {
                    return Uni.createFrom().failure(new ProblemException(ProblemType.IDEMPOTENCY_KEY_REUSED,
                            "this Idempotency-Key created a deployment of another model version"));
                }
                return Uni.createFrom().item(found.get());
            }
            Deployment draft = new Deployment(Ids.newId().toString(), tenant, request.getName(),
                    request.getModelVersionId(), "", "", maxBatchSize, maxConcurrent,
                    !options.hasCacheEnabled() || options.getCacheEnabled(), schedule, evaluationVersion,
                    Deployment.READY, "", Instant.now().truncatedTo(ChronoUnit.MICROS), caller.userId(),
                    caller.username());
            creating.add(draft.id());
            return Uni.createFrom()
                    .item(() -> {
                        if (!evaluationVersion.isEmpty()) {
                            examples.checkNotEmpty(new DatasetExamples.Reading(tenant, evaluationVersion,
                                    Batch.VALIDATION, "evaluation:" + draft.id(), caller.userId(),
                                    caller.username()), "options.evaluation_dataset_version_id");
                        }
                        return loadWeights(draft);
                    })
                    .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
                    .chain(deployment -> deployments.pool()
                            .withTransaction(tx -> deployments.insert(tx, deployment, key.isEmpty() ? null : key)
                                    .chain(() -> deployments.audit(tx, AuditEvents.byCaller(caller, AUDIT_SOURCE,
                                            "deployment.created", "deployment", deployment.id(),
                                            Outcome.OUTCOME_SUCCESS, details(deployment)))))
                            .replaceWith(deployment)
                            .onFailure()
                            .call(() -> unload(deployment.id()))
                            .onFailure(e -> e instanceof io.vertx.pgclient.PgException pg
                                    && "23505".equals(pg.getSqlState()))
                            .transform(e -> new ProblemException(ProblemType.ALREADY_EXISTS, "the tenant already "
                                    + "has a deployment named " + deployment.name() + "; choose another name",
                                    "name")))
                    .onTermination()
                    .invoke(() -> creating.remove(draft.id()));
        });
    }

    private static Map<String, Object> details(Deployment deployment) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("name", deployment.name());
        details.put("model_version_id", deployment.modelVersionId());
        details.put("model_version_name", deployment.modelVersionName());
        details.put("base_model_id", deployment.baseModelId());
        return details;
    }

    /**
     * Fetches the version's weights from the registry and loads them; blocking.
     *
     * @return the deployment with the version's name, its base model and its name filled in
     */
    private Deployment loadWeights(Deployment draft) {
        String token = tokens.token().await().atMost(Duration.ofSeconds(30));
        LoadModelVersionForServingRequest request = LoadModelVersionForServingRequest.newBuilder()
                .setModelVersionId(draft.modelVersionId())
                .setTenant(draft.tenant())
                .setDeploymentId(draft.id())
                .setOnBehalfOf(Actor.newBuilder()
                        .setUserId(draft.createdByUserId())
                        .setUsername(draft.createdByUsername()))
                .build();
        ServingArtifactHeader header = null;
        ByteArrayOutputStream archive = new ByteArrayOutputStream();
        try {
            Iterator<ServingArtifact> parts = training.withCallCredentials(new BearerCallCredentials(token, ""))
                    .withDeadlineAfter(LOAD_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)
                    .loadModelVersionForServing(request);
            while (parts.hasNext()) {
                ServingArtifact part = parts.next();
                if (part.hasHeader()) {
                    header = part.getHeader();
                } else {
                    part.getData().writeTo(archive);
                }
            }
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
                throw ProblemException.notFound("model version", draft.modelVersionId());
            }
            ProblemException problem = GrpcProblems.fromStatus(e);
            throw new ProblemException(problem.type(), problem.detail(), "model_version_id");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        if (header == null) {
            throw new ProblemException(ProblemType.SERVICE_UNAVAILABLE, "the training-service sent no model version");
        }
        String name = draft.name().isEmpty() ? header.getModelVersion().getName() : draft.name();
        Deployment deployment = new Deployment(draft.id(), draft.tenant(), name, draft.modelVersionId(),
                header.getModelVersion().getName(), header.getBaseModel().getId(), draft.maxBatchSize(),
                draft.maxConcurrentSequences(), draft.cacheEnabled(), draft.evaluationSchedule(),
                draft.evaluationDatasetVersionId(), Deployment.READY, "", draft.createdAt(), draft.createdByUserId(),
                draft.createdByUsername());
        loaded.load(deployment, header.getModelVersion().getArtifactKind(), header.getBaseModel(),
                archive.toByteArray(), header.getModelVersion().getEvaluationMap());
        return deployment;
    }

    public Uni<Deployment> get(Caller caller, String id) {
        return deployments.get(deployments.pool(), caller.requireTenant(), id)
                .map(found -> found.orElseThrow(() -> ProblemException.notFound("deployment", id)));
    }

    /** One page of the tenant's deployments, with the cursor of the next page (empty after the last). */
    public record Listed(List<Deployment> deployments, String nextAfter) {
    }

    public Uni<Listed> list(Caller caller, int limit, String after) {
        if (limit < 0 || limit > PAGE_LIMIT) {
            throw ProblemException.invalid("limit", "limit must be 1 to " + PAGE_LIMIT);
        }
        int size = limit == 0 ? DEFAULT_PAGE : limit;
        return deployments.list(caller.requireTenant(), after, size + 1).map(found -> found.size() > size
                ? new Listed(List.copyOf(found.subList(0, size)), found.get(size - 1).id())
                : new Listed(found, ""));
    }

    /** Removes the deployment; requests waiting for it fail, its adapter is freed. */
    public Uni<Void> delete(Caller caller, String id) {
        String tenant = caller.requireTenant();
        return deployments.pool()
                .withTransaction(tx -> deployments.get(tx, tenant, id).chain(found -> {
                    Deployment deployment = found.orElseThrow(() -> ProblemException.notFound("deployment", id));
                    return deployments.delete(tx, tenant, id)
                            .chain(() -> deployments.audit(tx, AuditEvents.byCaller(caller, AUDIT_SOURCE,
                                    "deployment.deleted", "deployment", id, Outcome.OUTCOME_SUCCESS,
                                    details(deployment))));
                }))
                .call(() -> unload(id));
    }

    /** Unloads off the event loop: freeing a model waits for its running batch. */
    private Uni<Void> unload(String id) {
        return Uni.createFrom()
                .<Void>item(() -> {
                    loaded.unload(id);
                    return null;
                })
                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
    }

    /**
     * Reconciles memory with the database: recorded ready deployments that are not loaded are loaded (after a
     * restart), loaded ones whose record is gone are unloaded, and those whose version is no longer approved are
     * suspended.
     */
    @Scheduled(every = "${loupe.serving.deployments.state-check-interval:15S}", delayed = "2S", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    Uni<Void> reconcile() {
        // Taken before the records are read: a deployment loaded and not being created had been committed by then.
        Set<String> settled = new HashSet<>(loaded.loaded().keySet());
        settled.removeAll(creating);
        return deployments.all().chain(recorded -> Uni.createFrom().item(() -> {
            reconcile(settled, recorded);
            return recorded;
        }).runSubscriptionOn(Infrastructure.getDefaultWorkerPool())).replaceWithVoid();
    }

    private void reconcile(Set<String> settled, List<Deployment> recorded) {
        Set<String> ids = recorded.stream().map(Deployment::id).collect(Collectors.toSet());
        for (String id : settled) {
            if (!ids.contains(id)) {
                loaded.unload(id);
            }
        }
        Map<String, List<Deployment>> ready = recorded.stream()
                .filter(d -> d.state().equals(Deployment.READY))
                .collect(Collectors.groupingBy(Deployment::tenant));
        for (Map.Entry<String, List<Deployment>> tenant : ready.entrySet()) {
            Map<String, ModelVersionState> states;
            try {
                states = versionStates(tenant.getKey(), tenant.getValue());
            } catch (StatusRuntimeException e) {
                LOG.warnf("cannot check the model versions of tenant %s: %s", tenant.getKey(), e.getStatus());
                continue;
            }
            for (Deployment deployment : tenant.getValue()) {
                // One deployment's trouble (a corrupt archive, the database) must not stop the others' checks.
                try {
                    ModelVersionState state = states.get(deployment.modelVersionId());
                    if (state != ModelVersionState.MODEL_VERSION_STATE_APPROVED) {
                        suspend(deployment, "model version " + deployment.modelVersionName() + " is "
                                + (state == null
                                        ? "gone"
                                        : state.name().substring("MODEL_VERSION_STATE_".length())
                                                .toLowerCase(java.util.Locale.ROOT)));
                    } else if (!loaded.isLoaded(deployment.id()) && stillRecorded(deployment)) {
                        restart(deployment);
                    }
                } catch (RuntimeException e) {
                    LOG.errorf(e, "Deployment %s (%s) could not be reconciled", deployment.name(), deployment.id());
                }
            }
        }
    }

    /** Whether the deployment is still recorded (it may have been deleted since this round read the records). */
    private boolean stillRecorded(Deployment deployment) {
        return deployments.get(deployments.pool(), deployment.tenant(), deployment.id())
                .await()
                .atMost(Duration.ofSeconds(30))
                .isPresent();
    }

    private Map<String, ModelVersionState> versionStates(String tenant, List<Deployment> list) {
        String token = tokens.token().await().atMost(Duration.ofSeconds(30));
        return training.withCallCredentials(new BearerCallCredentials(token, ""))
                .withDeadlineAfter(30, TimeUnit.SECONDS)
                .getModelVersionStates(GetModelVersionStatesRequest.newBuilder()
                        .setTenant(tenant)
                        .addAllModelVersionIds(list.stream().map(Deployment::modelVersionId).distinct().toList())
                        .build())
                .getStatesMap();
    }

    private void suspend(Deployment deployment, String reason) {
        loaded.unload(deployment.id());
        Deployment suspended = deployment.withState(Deployment.SUSPENDED, reason);
        deployments.pool()
                .withTransaction(tx -> deployments.updateState(tx, suspended)
                        .chain(() -> deployments.audit(tx, AuditEvents.bySystem(AUDIT_SOURCE, deployment.tenant(),
                                "deployment.suspended", "deployment", deployment.id(), Outcome.OUTCOME_SUCCESS,
                                Map.of("name", deployment.name(), "reason", reason)))))
                .await()
                .atMost(Duration.ofSeconds(30));
        LOG.infof("Deployment %s (%s) suspended: %s", deployment.name(), deployment.id(), reason);
    }

    private void restart(Deployment deployment) {
        try {
            loadWeights(deployment);
        } catch (ProblemException e) {
            LOG.warnf("Deployment %s (%s) cannot be loaded: %s", deployment.name(), deployment.id(), e.detail());
            Deployment failed = deployment.withState(Deployment.FAILED, e.detail());
            deployments.pool()
                    .withTransaction(tx -> deployments.updateState(tx, failed)
                            .chain(() -> deployments.audit(tx, AuditEvents.bySystem(AUDIT_SOURCE,
                                    deployment.tenant(), "deployment.failed", "deployment", deployment.id(),
                                    Outcome.OUTCOME_FAILED, Map.of("name", deployment.name(), "reason",
                                            e.detail())))))
                    .await()
                    .atMost(Duration.ofSeconds(30));
        } catch (StatusRuntimeException e) {
            // The registry is unreachable: the next round tries again.
            LOG.warnf("Deployment %s (%s) waits for the training-service: %s", deployment.name(),
                    deployment.id(), e.getStatus());
        }
    }
}
