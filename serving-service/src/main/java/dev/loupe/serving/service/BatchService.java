package dev.loupe.serving.service;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;

import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.contracts.serving.v1.BatchSplit;
import dev.loupe.contracts.serving.v1.CreateBatchRequest;
import dev.loupe.serving.batch.BatchCipher;
import dev.loupe.serving.batch.BatchRunner;
import dev.loupe.serving.batch.DatasetExamples;
import dev.loupe.serving.config.ServingConfig;
import dev.loupe.serving.inference.LoadedDeployments;
import dev.loupe.serving.inference.ServedDeployment;
import dev.loupe.serving.model.Batch;
import dev.loupe.serving.model.BatchResult;
import dev.loupe.serving.model.Deployment;
import dev.loupe.serving.repository.BatchRepository;
import dev.loupe.serving.repository.DeploymentRepository;
import dev.loupe.support.audit.AuditEvents;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.id.Ids;
import dev.loupe.support.kms.DataKey;
import dev.loupe.support.kms.DataKeys;
import dev.loupe.support.security.Caller;

/**
 * Batches: created after the deployment and the dataset version are checked (each refusal names its field), run
 * by the {@link BatchRunner}, cancelled, and their answers read decrypted. Creation, cancels and reads of the
 * answers are audited.
 */
@ApplicationScoped
public class BatchService {
    static final String CREATED = "batch.created";
    static final String CANCELLED = "batch.cancelled";
    static final String RESULTS_READ = "batch.results_read";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PAGE_LIMIT = 100;
    private static final int DEFAULT_PAGE = 20;
    private static final double MAX_TEMPERATURE = 2;

    private final BatchRepository batches;
    private final DeploymentRepository deployments;
    private final LoadedDeployments loaded;
    private final DatasetExamples examples;
    private final BatchRunner runner;
    private final DataKeys dataKeys;
    private final ServingConfig config;

    public BatchService(BatchRepository batches, DeploymentRepository deployments, LoadedDeployments loaded,
            DatasetExamples examples, BatchRunner runner, DataKeys dataKeys, ServingConfig config) {
        this.batches = batches;
        this.deployments = deployments;
        this.loaded = loaded;
        this.examples = examples;
        this.runner = runner;
        this.dataKeys = dataKeys;
        this.config = config;
    }

    /** A new batch, or the one an earlier request with the same Idempotency-Key created. */
    public Uni<Batch> create(Caller caller, CreateBatchRequest request) {
        String tenant = caller.requireTenant();
        if (request.getDeploymentId().isEmpty()) {
            throw ProblemException.invalid("model", "model must name a deployment");
        }
        if (Ids.parse(request.getDatasetVersionId()).isEmpty()) {
            throw ProblemException.invalid("dataset_version", "dataset_version must be a dataset version's id");
        }
        String split = switch (request.getSplit()) {
            case BATCH_SPLIT_UNSPECIFIED, BATCH_SPLIT_VALIDATION -> Batch.VALIDATION;
            case BATCH_SPLIT_TRAIN -> Batch.TRAIN;
            default -> throw ProblemException.invalid("split", "split must be validation or train");
        };
        double temperature = request.hasTemperature() ? request.getTemperature() : 0;
        if (!(temperature >= 0 && temperature <= MAX_TEMPERATURE)) {
            throw ProblemException.invalid("temperature", "temperature must be 0 to " + MAX_TEMPERATURE);
        }
        ServedDeployment served = servedDeployment(tenant, request.getDeploymentId());
        int maxTokens = request.hasMaxTokens() ? request.getMaxTokens() : config.batches().defaultMaxTokens();
        int positions = served.host().model().maxPositions();
        if (maxTokens < 1 || maxTokens > positions) {
            throw ProblemException.invalid("max_tokens", "max_tokens must be 1 to " + positions
                    + " (the model's positions)");
        }
        if (!request.getJsonSchema().isEmpty()) {
            try {
                JsonNode schema = JSON.readTree(request.getJsonSchema());
                served.host().model().jsonConstraint(schema);
            } catch (java.io.IOException e) {
                throw ProblemException.invalid("response_format.json_schema.schema", "the schema is not valid JSON");
            } catch (IllegalArgumentException e) {
                throw ProblemException.invalid("response_format.json_schema.schema", e.getMessage());
            }
        }
        String key = request.getIdempotencyKey();
        Uni<Optional<Batch>> earlier = key.isEmpty()
                ? Uni.createFrom().item(Optional.empty())
                : batches.byIdempotencyKey(batches.pool(), tenant, key);
        return earlier.chain(found -> {
            if (found.isPresent()) {
                if (!found.get().datasetVersionId().equals(request.getDatasetVersionId())
                        || !found.get().deploymentId().equals(served.deployment().id())) {
                    return Uni.createFrom().failure(new ProblemException(ProblemType.IDEMPOTENCY_KEY_REUSED,
                            "this Idempotency-Key created a batch of another deployment or dataset version"));
                }
                return Uni.createFrom().item(found.get());
            }
            Deployment deployment = served.deployment();
            String keyName = BatchCipher.KEY_PREFIX + tenant;
            return Uni.createFrom().item(() -> {
                DataKey dataKey = dataKeys.generate(keyName);
                Batch batch = new Batch(Ids.newId().toString(), tenant, deployment.id(), deployment.name(),
                        deployment.modelVersionId(), request.getDatasetVersionId(), split, maxTokens, temperature,
                        request.getJsonSchema(), Batch.QUEUED, "", 0, 0, 0, 0, keyName, dataKey.wrapped(),
                        Instant.now().truncatedTo(ChronoUnit.MICROS), caller.userId(), caller.username(), null);
                examples.checkNotEmpty(DatasetExamples.Reading.of(batch), "dataset_version");
                return batch;
            })
                    .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
                    .chain(batch -> batches.pool()
                            .withTransaction(tx -> batches.insert(tx, batch, key.isEmpty() ? null : key)
                                    .chain(() -> deployments.audit(tx, AuditEvents.byCaller(caller,
                                            DeploymentService.AUDIT_SOURCE, CREATED, "batch", batch.id(),
                                            Outcome.OUTCOME_SUCCESS, details(batch)))))
                            .replaceWith(batch))
                    .invoke(runner::wake);
        });
    }

    /** The tenant's deployment that will answer: loaded, or the reason it is not. */
    private ServedDeployment servedDeployment(String tenant, String nameOrId) {
        Optional<ServedDeployment> served = loaded.find(tenant, nameOrId);
        if (served.isPresent()) {
            return served.get();
        }
        Deployment recorded = deployments.byNameOrId(tenant, nameOrId)
                .await()
                .atMost(java.time.Duration.ofSeconds(30))
                .orElseThrow(() -> new ProblemException(ProblemType.NOT_FOUND, "there is no deployment " + nameOrId,
                        "model"));
        throw new ProblemException(ProblemType.CONFLICT, "deployment " + recorded.name() + " is " + recorded.state()
                + (recorded.failureReason().isEmpty() ? "" : ": " + recorded.failureReason()), "model");
    }

    public Uni<Batch> get(Caller caller, String id) {
        return batches.get(batches.pool(), caller.requireTenant(), id)
                .map(found -> found.orElseThrow(() -> ProblemException.notFound("batch", id)));
    }

    /** One page of the tenant's batches, with the cursor of the next page (empty after the last). */
    public record Listed(List<Batch> batches, String nextAfter) {
    }

    public Uni<Listed> list(Caller caller, int limit, String after) {
        int size = pageSize(limit);
        return batches.list(caller.requireTenant(), after, size + 1).map(found -> found.size() > size
                ? new Listed(List.copyOf(found.subList(0, size)), found.get(size - 1).id())
                : new Listed(found, ""));
    }

    /** Stops a queued or running batch; answers stored so far stay. */
    public Uni<Batch> cancel(Caller caller, String id) {
        String tenant = caller.requireTenant();
        return batches.pool().withTransaction(tx -> batches.get(tx, tenant, id).chain(found -> {
            Batch batch = found.orElseThrow(() -> ProblemException.notFound("batch", id));
            return batches.lock(tx, batch.id()).chain(locked -> {
                if (locked.get().ended()) {
                    return Uni.createFrom().failure(new ProblemException(ProblemType.CONFLICT, "batch " + id
                            + " has ended (" + locked.get().state() + ")"));
                }
                return batches.updateState(tx, id, Batch.CANCELLED, "", Instant.now())
                        .chain(() -> deployments.audit(tx, AuditEvents.byCaller(caller,
                                DeploymentService.AUDIT_SOURCE, CANCELLED, "batch", id, Outcome.OUTCOME_SUCCESS,
                                details(locked.get()))))
                        .chain(() -> batches.get(tx, tenant, id))
                        .map(Optional::orElseThrow);
            });
        }));
    }

    /** One page of answers, decrypted, with the cursor of the next page (empty after the last). */
    public record Results(List<BatchResult> results, String nextAfter) {
    }

    /** A page of the batch's answers after a position (an audited read). */
    public Uni<Results> results(Caller caller, String id, int limit, String after) {
        int size = pageSize(limit);
        long afterPosition;
        try {
            afterPosition = after.isEmpty() ? -1 : Long.parseLong(after);
        } catch (NumberFormatException e) {
            throw ProblemException.invalid("after", "after must be the next_after of a previous page");
        }
        return get(caller, id).chain(batch -> batches.results(batch.id(), afterPosition, size + 1)
                .chain(sealed -> Uni.createFrom().item(() -> open(batch, sealed))
                        .runSubscriptionOn(Infrastructure.getDefaultWorkerPool()))
                .chain(opened -> {
                    List<BatchResult> page = opened.size() > size ? opened.subList(0, size) : opened;
                    String next = opened.size() > size ? Long.toString(page.get(size - 1).position()) : "";
                    Map<String, Object> details = new LinkedHashMap<>();
                    details.put("results", page.size());
                    details.put("after", after);
                    return batches.pool()
                            .withTransaction(tx -> deployments.audit(tx, AuditEvents.byCaller(caller,
                                    DeploymentService.AUDIT_SOURCE, RESULTS_READ, "batch", batch.id(),
                                    Outcome.OUTCOME_SUCCESS, details)))
                            .replaceWith(new Results(List.copyOf(page), next));
                }));
    }

    private List<BatchResult> open(Batch batch, List<BatchRepository.SealedResult> sealed) {
        if (sealed.isEmpty()) {
            return List.of();
        }
        byte[] dataKey = dataKeys.unwrap(batch.keyName(), batch.wrappedKey());
        List<BatchResult> results = new ArrayList<>();
        for (BatchRepository.SealedResult result : sealed) {
            String text = new String(BatchCipher.open(dataKey, batch, result.position(), result.sealedText()),
                    StandardCharsets.UTF_8);
            results.add(new BatchResult(result.position(), result.recordId(), result.recordHash(), text,
                    result.finishReason(), result.promptTokens(), result.imageTokens(), result.completionTokens()));
        }
        return results;
    }

    private static int pageSize(int limit) {
        if (limit < 0 || limit > PAGE_LIMIT) {
            throw ProblemException.invalid("limit", "limit must be 1 to " + PAGE_LIMIT);
        }
        return limit == 0 ? DEFAULT_PAGE : limit;
    }

    private static Map<String, Object> details(Batch batch) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("deployment_id", batch.deploymentId());
        details.put("model_version_id", batch.modelVersionId());
        details.put("dataset_version_id", batch.datasetVersionId());
        details.put("split", batch.split());
        return details;
    }
}
