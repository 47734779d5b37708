package dev.loupe.training.job;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Pattern;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Event;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.grpc.GrpcClient;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.loupe.contracts.dataset.v1.DatasetVersion;
import dev.loupe.contracts.dataset.v1.GetVersionRequest;
import dev.loupe.contracts.dataset.v1.MutinyDatasetServiceGrpc.MutinyDatasetServiceStub;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.contracts.training.v1.CreateJobRequest;
import dev.loupe.engine.model.LlavaConfig;
import dev.loupe.support.audit.AuditEvents;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.error.SqlStates;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.support.hash.Sha256;
import dev.loupe.support.id.Ids;
import dev.loupe.support.security.Caller;
import dev.loupe.training.config.TrainingConfig;
import dev.loupe.training.model.Job;
import dev.loupe.training.model.JobCheckpoint;
import dev.loupe.training.model.JobEvent;
import dev.loupe.training.model.JobStatus;
import dev.loupe.training.modelstore.CheckpointInspector;
import dev.loupe.training.repository.JobRepository;
import dev.loupe.training.repository.OutboxRepository;
import dev.loupe.training.service.BaseModelService;
import dev.loupe.training.service.Page;

/**
 * The fine-tuning jobs of a tenant: creating one (every check made before it is queued), reading them, their
 * events and checkpoints, and the user's controls (cancel, pause, resume). Running them is the
 * {@code worker} package's work; this class records what the workers report through {@link JobProgress}.
 */
@ApplicationScoped
public class JobService {
    static final String CREATED = "training.job.created";
    static final String CANCELLED = "training.job.cancelled";
    static final String PAUSED = "training.job.paused";
    static final String RESUMED = "training.job.resumed";
    private static final Pattern SUFFIX = Pattern.compile("[a-z0-9][a-z0-9_-]{0,39}");
    private static final int MAX_METADATA = 16;
    private static final int MAX_METADATA_KEY = 64;
    private static final int MAX_METADATA_VALUE = 512;
    private static final int MAX_IDEMPOTENCY_KEY = 255;
    private static final Duration DATASET_DEADLINE = Duration.ofSeconds(10);
    /** How often a live event stream looks for new events. */
    private static final Duration WATCH_POLL = Duration.ofMillis(500);

    /** A created job, or the job an earlier request with the same Idempotency-Key created. */
    public record Created(Job job, boolean replayed) {
    }

    /** Fired after a job changed so that the scheduler looks at the queue (or stops the job's worker) now. */
    public record JobsChanged(String jobId) {
    }

    private final JobRepository jobs;
    private final OutboxRepository outbox;
    private final MutinyDatasetServiceStub datasets;
    private final TrainingConfig config;
    private final Event<JobsChanged> changed;

    public JobService(JobRepository jobs, OutboxRepository outbox,
            @GrpcClient("dataset") MutinyDatasetServiceStub datasets, TrainingConfig config,
            Event<JobsChanged> changed) {
        this.jobs = jobs;
        this.outbox = outbox;
        this.datasets = datasets;
        this.config = config;
        this.changed = changed;
    }

    /**
     * Checks a request and queues the job: the base model exists and its configuration is readable, the dataset
     * version is the caller's tenant's and has the splits the job needs, every setting is in range and the job's
     * estimated memory fits a worker. Errors name the field at fault.
     *
     * @param caller captured on the request's thread
     */
    public Uni<Created> create(Caller caller, CreateJobRequest request) {
        String tenant = caller.requireTenant();
        validate(request);
        JobSettings settings = JobSettings.of(request);
        String validationSplit = request.getValidationSplit().isEmpty() ? "validation" : request.getValidationSplit();
        String key = request.getIdempotencyKey();
        String requestHash = Sha256.hex(deterministicBytes(request.toBuilder().clearIdempotencyKey().build()));
        Uni<Optional<Job>> earlier = key.isEmpty()
                ? Uni.createFrom().item(Optional.empty())
                : jobs.findByIdempotencyKey(tenant, caller.userId(), key);
        return earlier.chain(previous -> {
            if (previous.isPresent()) {
                return replay(previous.get(), key, requestHash, caller);
            }
            return baseModel(request.getModel())
                    .chain(base -> datasetVersion(caller, request.getDatasetVersionId()).chain(version -> {
                        checkSplits(version, validationSplit);
                        return estimate(base, settings).chain(estimate -> {
                            Job job = newJob(caller, request, settings, base, version, validationSplit, estimate);
                            return insert(caller, job, key, requestHash);
                        });
                    }));
        }).invoke(created -> {
            if (!created.replayed()) {
                changed.fireAsync(new JobsChanged(created.job().id()));
            }
        });
    }

    /** The message's bytes with map entries in key order, so that equal requests hash alike. */
    private static byte[] deterministicBytes(CreateJobRequest request) {
        try {
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            com.google.protobuf.CodedOutputStream out = com.google.protobuf.CodedOutputStream.newInstance(bytes);
            out.useDeterministicSerialization();
            request.writeTo(out);
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void validate(CreateJobRequest request) {
        if (request.getModel().isEmpty()) {
            throw ProblemException.invalid("model", "model is required: the id of a base model (GET /v1/models)");
        }
        if (request.getDatasetVersionId().isEmpty()) {
            throw ProblemException.invalid("dataset_version", "dataset_version is required: the id of a frozen"
                    + " version of one of your datasets");
        }
        String split = request.getValidationSplit();
        if (!split.isEmpty() && !split.equals("validation") && !split.equals("none")) {
            throw ProblemException.invalid("validation_split", "validation_split must be validation (the version's"
                    + " validation records) or none");
        }
        if (!request.getSuffix().isEmpty() && !SUFFIX.matcher(request.getSuffix()).matches()) {
            throw ProblemException.invalid("suffix", "suffix must be 1 to 40 lower-case letters, digits, '_' or '-',"
                    + " starting with a letter or digit");
        }
        if (request.getMetadataCount() > MAX_METADATA) {
            throw ProblemException.invalid("metadata", "metadata holds at most " + MAX_METADATA + " entries");
        }
        request.getMetadataMap().forEach((name, value) -> {
            if (name.isEmpty() || name.length() > MAX_METADATA_KEY || name.chars().anyMatch(Character::isISOControl)) {
                throw ProblemException.invalid("metadata", "metadata keys must be 1 to " + MAX_METADATA_KEY
                        + " printable characters");
            }
            if (value.length() > MAX_METADATA_VALUE) {
                throw ProblemException.invalid("metadata." + name, "metadata values must be at most "
                        + MAX_METADATA_VALUE + " characters");
            }
        });
        if (request.getPriority() < -10 || request.getPriority() > 10) {
            throw ProblemException.invalid("priority", "priority must be between -10 and 10");
        }
        String key = request.getIdempotencyKey();
        if (key.length() > MAX_IDEMPOTENCY_KEY || key.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
            throw new ProblemException(ProblemType.INVALID_REQUEST, "Idempotency-Key must be at most "
                    + MAX_IDEMPOTENCY_KEY + " printable ASCII characters without spaces", "Idempotency-Key");
        }
    }

    private Uni<Created> replay(Job job, String key, String requestHash, Caller caller) {
        return jobs.pool()
                .preparedQuery("SELECT idempotency_request_hash FROM fine_tuning_job WHERE id = $1")
                .execute(Tuple.of(job.id()))
                .map(rows -> {
                    String hash = rows.iterator().next().getString(0);
                    if (!requestHash.equals(hash)) {
                        throw new ProblemException(ProblemType.IDEMPOTENCY_KEY_REUSED, "the Idempotency-Key " + key
                                + " was used for a different job request", "Idempotency-Key");
                    }
                    return new Created(job, true);
                });
    }

    /** A base model's folder, hash and size. */
    record Base(String id, Path folder, String contentHash, long parameterCount) {
    }

    private Uni<Base> baseModel(String id) {
        return jobs.pool()
                .preparedQuery("SELECT storage_uri, content_hash, parameter_count FROM base_model WHERE id = $1")
                .execute(Tuple.of(id))
                .map(rows -> {
                    if (rows.rowCount() == 0) {
                        throw ProblemException.invalid("model", "base model " + id + " does not exist (GET"
                                + " /v1/models lists them)");
                    }
                    var row = rows.iterator().next();
                    return new Base(id, Path.of(java.net.URI.create(row.getString("storage_uri"))),
                            row.getString("content_hash"), row.getLong("parameter_count"));
                });
    }

    private Uni<DatasetVersion> datasetVersion(Caller caller, String versionId) {
        return datasets
                .withCallCredentials(new BearerCallCredentials(caller.bearerToken(), caller.requestId()))
                .withDeadlineAfter(DATASET_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)
                .getVersion(GetVersionRequest.newBuilder().setVersionId(versionId).build())
                .onFailure(StatusRuntimeException.class)
                .transform(failure -> {
                    Status.Code code = ((StatusRuntimeException) failure).getStatus().getCode();
                    if (code == Status.Code.NOT_FOUND || code == Status.Code.INVALID_ARGUMENT) {
                        return ProblemException.invalid("dataset_version", "dataset version " + versionId
                                + " does not exist in your tenant");
                    }
                    if (code == Status.Code.PERMISSION_DENIED) {
                        return new ProblemException(ProblemType.FORBIDDEN, "your roles do not allow reading dataset"
                                + " version " + versionId, "dataset_version");
                    }
                    return new ProblemException(ProblemType.SERVICE_UNAVAILABLE, "the dataset-service could not be"
                            + " asked about dataset version " + versionId + " (" + code + "); retry");
                });
    }

    private static void checkSplits(DatasetVersion version, String validationSplit) {
        long erased = version.getErasedRecordCount();
        if (version.getTrainCount() - erased < 1) {
            throw ProblemException.invalid("dataset_version", "dataset version " + version.getId()
                    + " has no training records");
        }
        if (validationSplit.equals("validation") && version.getValidationCount() < 1) {
            throw ProblemException.invalid("validation_split", "dataset version " + version.getId() + " has no"
                    + " validation records: freeze a version with a validation_fraction, or set validation_split"
                    + " to none");
        }
    }

    private Uni<Long> estimate(Base base, JobSettings settings) {
        return onWorkerThread(() -> {
            LlavaConfig model;
            try {
                model = LlavaConfig.read(base.folder().resolve(CheckpointInspector.CONFIG_FILE));
            } catch (IOException | RuntimeException e) {
                throw new ProblemException(ProblemType.CONFLICT, "the checkpoint of base model " + base.id()
                        + " cannot be read any more: " + e.getMessage(), "model");
            }
            long bytes = MemoryEstimate.bytes(model, base.parameterCount(), settings.resolvedMethod(),
                    settings.resolvedHyperparameters());
            long limit = config.worker().memoryLimit().asLongValue();
            if (bytes > limit) {
                boolean batched = settings.resolvedHyperparameters().batchSize() > 1;
                String field = batched ? "hyperparameters.batch_size" : "method.type";
                throw ProblemException.invalid(field, String.format("the job needs about %.1f GiB but a worker may"
                        + " use %.1f GiB: %s", bytes / (double) (1L << 30), limit / (double) (1L << 30),
                        batched
                                ? "lower hyperparameters.batch_size (raise gradient_accumulation_steps to keep the"
                                        + " effective batch)"
                                : "use method.type lora, or ask an operator for larger workers"));
            }
            return bytes;
        });
    }

    private Job newJob(Caller caller, CreateJobRequest request, JobSettings settings, Base base,
            DatasetVersion version, String validationSplit, long estimate) {
        String id = Ids.newId().toString();
        Instant now = JobRepository.micros(Instant.now());
        return new Job(id, caller.requireTenant(), base.id(), base.contentHash(), version.getDatasetId(),
                version.getId(), version.getManifestHash(), version.getTrainCount(),
                validationSplit.equals("none") ? 0 : version.getValidationCount(), validationSplit, settings.method(),
                settings.hyperparameters(), settings.seed(), request.getSuffix(),
                new TreeMap<>(request.getMetadataMap()), request.getPriority(), estimate, JobStatus.QUEUED, null, "",
                0, 0, 0, null, Map.of(), Map.of(), config.jobs().root().resolve(id).toAbsolutePath().toString(), "",
                null,
                now, null, null, caller.userId(), caller.username());
    }

    private Uni<Created> insert(Caller caller, Job job, String key, String requestHash) {
        List<String> waiting = List.of(JobStatus.QUEUED.dbName, JobStatus.PAUSED.dbName);
        // The tenant's creations take turns (a transaction-scoped lock), so that concurrent ones cannot both pass
        // the count.
        return jobs.pool().withTransaction(tx -> tx.preparedQuery("SELECT pg_advisory_xact_lock(hashtext($1))")
                .execute(Tuple.of("fine_tuning_job.create:" + job.tenant()))
                .chain(() -> jobs.count(tx, job.tenant(), waiting))
                .chain(count -> {
                    if (count >= config.jobs().maxQueuedPerTenant()) {
                        throw new ProblemException(ProblemType.RATE_LIMITED,
                                "your tenant has " + count + " jobs waiting,"
                                        + " the most it may have: cancel one or wait for the queue to move");
                    }
                    return jobs.insert(tx, job, key.isEmpty() ? null : key)
                            .chain(() -> key.isEmpty()
                                    ? Uni.createFrom().voidItem()
                                    : tx.preparedQuery(
                                            "UPDATE fine_tuning_job SET idempotency_request_hash = $2 WHERE id ="
                                                    + " $1")
                                            .execute(Tuple.of(job.id(), requestHash)).replaceWithVoid())
                            .chain(() -> jobs.addEvent(tx, job.id(), JobEvent.INFO, JobEvent.MESSAGE, "Job created: "
                                    + job.trainCount() + " training and " + job.validationCount()
                                    + " validation examples"
                                    + " of dataset version " + job.datasetVersionId() + " on base model "
                                    + job.baseModelId(), Map.of()))
                            .chain(() -> outbox.add(tx,
                                    AuditEvents.byCaller(caller, BaseModelService.AUDIT_SOURCE, CREATED,
                                            "fine_tuning_job", job.id(), Outcome.OUTCOME_SUCCESS,
                                            createdDetails(job))));
                })).map(ignored -> new Created(job, false))
                .onFailure(SqlStates::isUniqueViolation)
                .recoverWithUni(() -> jobs.findByIdempotencyKey(job.tenant(), caller.userId(), key)
                        .chain(winner -> replay(winner.orElseThrow(), key, requestHash, caller)));
    }

    private static Map<String, Object> createdDetails(Job job) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("base_model", job.baseModelId());
        details.put("base_model_hash", job.baseModelHash());
        details.put("dataset_id", job.datasetId());
        details.put("dataset_version_id", job.datasetVersionId());
        details.put("manifest_hash", job.manifestHash());
        details.put("method", job.method().get("type"));
        details.put("seed", job.seed());
        return details;
    }

    /** The tenant's job; NOT_FOUND for an id of another tenant. */
    public Uni<Job> get(Caller caller, String id) {
        return jobs.get(jobs.pool(), caller.requireTenant(), id)
                .map(found -> found.orElseThrow(() -> ProblemException.notFound("fine-tuning job", id)));
    }

    /** The tenant's jobs, newest first. */
    public Uni<Page<Job>> list(Caller caller, List<JobStatus> states, int limit, String after) {
        int size = config.pagination().pageSize(limit);
        if (!after.isEmpty() && Ids.parse(after).isEmpty()) {
            throw ProblemException.invalid("after", "after must be the next_after of a previous page");
        }
        return jobs.list(caller.requireTenant(), states.stream().map(s -> s.dbName).toList(), after, size + 1)
                .map(found -> Page.of(found, size, Job::id));
    }

    /** A job's events after a sequence number (the cursor), oldest first. */
    public Uni<Page<JobEvent>> events(Caller caller, String id, int limit, String after) {
        int size = config.pagination().pageSize(limit);
        long afterSequence = cursor(after);
        return get(caller, id).chain(job -> jobs.events(job.id(), afterSequence, size + 1))
                .map(found -> Page.of(found, size, event -> Long.toString(event.sequence())));
    }

    /**
     * A job's events after a sequence number, then the new ones as they come, until the job has ended and its last
     * event is sent (or the caller cancels).
     */
    public Multi<JobEvent> watch(Caller caller, String id, long afterSequence) {
        return get(caller, id).onItem().transformToMulti(job -> {
            long[] last = {afterSequence};
            boolean[] done = {false};
            return Multi.createBy()
                    .repeating()
                    .uni(() -> jobs.find(id).chain(current -> {
                        boolean ended = current.map(j -> j.status().ended()).orElse(true);
                        return jobs.events(id, last[0], 100).invoke(events -> {
                            if (!events.isEmpty()) {
                                last[0] = events.get(events.size() - 1).sequence();
                            }
                            // Ended and nothing new after the state was read: every event has been sent.
                            done[0] = ended && events.isEmpty();
                        }).call(events -> events.isEmpty() && !done[0]
                                ? Uni.createFrom().voidItem().onItem().delayIt().by(WATCH_POLL)
                                : Uni.createFrom().voidItem());
                    }))
                    .until(events -> done[0])
                    .onItem()
                    .<JobEvent>disjoint();
        });
    }

    /** A job's checkpoints by step, after a step (the cursor). */
    public Uni<Page<JobCheckpoint>> checkpoints(Caller caller, String id, int limit, String after) {
        int size = config.pagination().pageSize(limit);
        long afterStep = cursor(after);
        return get(caller, id).chain(job -> jobs.checkpoints(job.id(), afterStep, size + 1))
                .map(found -> Page.of(found, size, checkpoint -> Long.toString(checkpoint.step())));
    }

    /**
     * Cancels a job: at once when no worker runs for it; otherwise the worker is told to stop and the job is
     * {@code cancelled} when it has (within seconds).
     */
    public Uni<Job> cancel(Caller caller, String id) {
        return control(caller, id, "cancel", job -> {
            if (job.status().ended()) {
                throw conflict(job, "cancelled");
            }
            if (job.status().hasWorker()) {
                return new Change(with(job, job.status(), "cancel"), "Cancel requested: stopping the worker");
            }
            return new Change(ended(job, JobStatus.CANCELLED, ""), "Job cancelled");
        }, CANCELLED);
    }

    /**
     * Pauses a job: a queued one at once; a running one when its worker has finished its step and saved a
     * checkpoint, from which a resume continues.
     */
    public Uni<Job> pause(Caller caller, String id) {
        return control(caller, id, "pause", job -> {
            if (job.status() == JobStatus.QUEUED) {
                return new Change(with(job, JobStatus.PAUSED, null), "Job paused");
            }
            if (job.status().hasWorker() && job.stopRequested() == null) {
                return new Change(with(job, job.status(), "pause"),
                        "Pause requested: the worker saves a checkpoint and stops");
            }
            throw conflict(job, "paused");
        }, PAUSED);
    }

    /** Queues a paused job again; its worker continues from the last checkpoint. */
    public Uni<Job> resume(Caller caller, String id) {
        return control(caller, id, "resume", job -> {
            if (job.status() != JobStatus.PAUSED) {
                throw conflict(job, "resumed");
            }
            return new Change(with(job, JobStatus.QUEUED, null), "Job resumed: queued to continue from its last"
                    + " checkpoint");
        }, RESUMED);
    }

    /** A state change a user asked for, and the event that tells it. */
    private record Change(Job job, String message) {
    }

    private Uni<Job> control(Caller caller, String id, String action, java.util.function.Function<Job, Change> decide,
            String auditAction) {
        String tenant = caller.requireTenant();
        return jobs.pool().withTransaction(tx -> jobs.lock(tx, id).chain(found -> {
            Job current = found.filter(job -> job.tenant().equals(tenant))
                    .orElseThrow(() -> ProblemException.notFound("fine-tuning job", id));
            Change change = decide.apply(current);
            return jobs.update(tx, change.job())
                    .chain(() -> jobs.addEvent(tx, id, JobEvent.INFO, JobEvent.MESSAGE, change.message()
                            + " by " + caller.username(), Map.of()))
                    .chain(() -> outbox.add(tx, AuditEvents.byCaller(caller, BaseModelService.AUDIT_SOURCE,
                            auditAction, "fine_tuning_job", id, Outcome.OUTCOME_SUCCESS,
                            Map.of("state", change.job().status().dbName, "previous_state",
                                    current.status().dbName))))
                    .map(ignored -> change.job());
        })).invoke(job -> {
            if (job.status().ended()) {
                // A paused job cancelled: its checkpoints are of no use any more, and they hold weights.
                Infrastructure.getDefaultWorkerPool().execute(() -> JobProgress.removePlaintextWeights(job));
            }
            changed.fireAsync(new JobsChanged(job.id()));
        });
    }

    private static ProblemException conflict(Job job, String wanted) {
        return new ProblemException(ProblemType.CONFLICT, "job " + job.id() + " is " + job.status().dbName
                + (job.stopRequested() != null ? " (a " + job.stopRequested() + " is under way)" : "")
                + " and cannot be " + wanted);
    }

    /** The job with another state and stop request. */
    public static Job with(Job job, JobStatus status, String stopRequested) {
        return job.with(c -> {
            c.status = status;
            c.stopRequested = stopRequested;
        });
    }

    /** The job ended in a final state, with no worker. */
    public static Job ended(Job job, JobStatus status, String failureReason) {
        return job.with(c -> {
            c.status = status;
            c.stopRequested = null;
            c.failureReason = failureReason;
            c.workerPid = null;
            c.finishedAt = JobRepository.micros(Instant.now());
        });
    }

    private static long cursor(String after) {
        if (after.isEmpty()) {
            return 0;
        }
        try {
            long value = Long.parseLong(after);
            if (value >= 0) {
                return value;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw ProblemException.invalid("after", "after must be the next_after of a previous page");
    }

    /** Runs blocking work (reading a file) on a worker thread. */
    private static <T> Uni<T> onWorkerThread(Supplier<T> work) {
        return Uni.createFrom().item(work).runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
    }
}
