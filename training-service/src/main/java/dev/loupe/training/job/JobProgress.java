package dev.loupe.training.job;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.databind.JsonNode;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.SqlClient;
import org.jboss.logging.Logger;

import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.support.audit.AuditEvents;
import dev.loupe.support.id.Ids;
import dev.loupe.training.config.TrainingConfig;
import dev.loupe.training.model.Job;
import dev.loupe.training.model.JobCheckpoint;
import dev.loupe.training.model.JobEvent;
import dev.loupe.training.model.JobStatus;
import dev.loupe.training.model.ModelVersion;
import dev.loupe.training.modelstore.FolderHash;
import dev.loupe.training.modelstore.PrivateFolders;
import dev.loupe.training.registry.ModelArtifacts;
import dev.loupe.training.registry.ModelVersionService;
import dev.loupe.training.repository.JobRepository;
import dev.loupe.training.repository.OutboxRepository;
import dev.loupe.training.service.BaseModelService;

/**
 * Records what happens to a job while a worker runs it: the launch, each report line of the worker (see the
 * engine's {@code TrainerWorker} for their form) and the worker's exit, which decides the job's next state. Called
 * from the threads that follow worker processes: every method blocks until its transaction has committed.
 */
@ApplicationScoped
public class JobProgress {
    static final String SUCCEEDED = "training.job.succeeded";
    static final String FAILED = "training.job.failed";
    private static final Duration DB_TIMEOUT = Duration.ofSeconds(30);
    private static final Logger LOG = Logger.getLogger(JobProgress.class);

    /**
     * How a worker process ended, as its follower saw it.
     *
     * @param failedReason the reason of the worker's {@code failed} report; null if it made none
     * @param artifact the adapter or model folder of its {@code succeeded} report; null if it made none
     * @param trainRecordHashes the records of the training split it was fed (the model's lineage)
     */
    public record Exit(int exitCode, String failedReason, String artifact, List<String> trainRecordHashes,
            List<String> validationRecordHashes) {
    }

    private final JobRepository jobs;
    private final OutboxRepository outbox;
    private final ModelArtifacts artifacts;
    private final ModelVersionService registry;
    private final TrainingConfig config;

    public JobProgress(JobRepository jobs, OutboxRepository outbox, ModelArtifacts artifacts,
            ModelVersionService registry, TrainingConfig config) {
        this.jobs = jobs;
        this.outbox = outbox;
        this.artifacts = artifacts;
        this.registry = registry;
        this.config = config;
    }

    /**
     * Takes a queued job for a launch: {@code validating_files}, one more attempt. Empty if the job is no longer
     * queued (cancelled or paused meanwhile).
     */
    public Optional<Job> claim(String jobId) {
        return inTransaction(jobId, (tx, job) -> {
            if (job.status() != JobStatus.QUEUED) {
                return Uni.createFrom().item(Optional.<Job>empty());
            }
            Job claimed = withProgress(JobService.with(job, JobStatus.VALIDATING_FILES, null), job.trainedSteps(),
                    job.totalSteps(), job.attempt() + 1, null,
                    job.startedAt() != null ? job.startedAt() : JobRepository.micros(Instant.now()));
            return jobs.update(tx, claimed)
                    .chain(() -> jobs.addEvent(tx, jobId, JobEvent.INFO, JobEvent.MESSAGE, "Worker launched (attempt "
                            + claimed.attempt() + " of " + config.jobs().maxAttempts() + "): streaming and checking"
                            + " the examples", Map.of()))
                    .map(ignored -> Optional.of(claimed));
        });
    }

    /** The launched worker's process id, so that an orphan can be found after a restart. */
    public void workerStarted(String jobId, long pid) {
        inTransaction(jobId, (tx, job) -> jobs.update(tx, withProgress(job, job.trainedSteps(), job.totalSteps(),
                job.attempt(), pid, job.startedAt())));
    }

    /** Adds a message event to the job's history. */
    public void note(String jobId, String level, String message) {
        inTransaction(jobId, (tx, job) -> jobs.addEvent(tx, jobId, level, JobEvent.MESSAGE, message, Map.of()));
    }

    /** Records one report line of the worker. */
    public void report(String jobId, JsonNode line) {
        String type = line.path("type").asText("");
        switch (type) {
            case "started" -> inTransaction(jobId, (tx, job) -> {
                long total = line.path("total_steps").asLong();
                long resumed = line.path("resumed_from_step").asLong();
                Job running = withProgress(JobService.with(job, JobStatus.RUNNING, job.stopRequested()), resumed,
                        total, job.attempt(), job.workerPid(), job.startedAt());
                return jobs.update(tx, running)
                        .chain(() -> jobs.addEvent(tx, jobId, JobEvent.INFO, JobEvent.MESSAGE, resumed > 0
                                ? "Training resumed from step " + resumed + " of " + total
                                : "Examples checked; training " + total + " steps", Map.of()));
            });
            case "evaluation" -> inTransaction(jobId, (tx, job) -> {
                boolean base = line.path("model").asText().equals("base");
                Map<String, Double> scores = numbers(line, List.of("loss", "token_accuracy", "exact_match",
                        "examples", "field_precision", "field_recall", "field_f1", "json_valid", "grounded_accuracy",
                        "mean_iou"));
                Job scored = withEvaluation(job, base ? job.evaluation() : scores,
                        base ? scores : job.baseEvaluation());
                Map<String, Double> metrics = new LinkedHashMap<>(scores);
                metrics.put("step", line.path("step").asDouble());
                long step = line.path("step").asLong();
                String message = base
                        ? "Base model evaluated on the validation split"
                        : step < job.totalSteps()
                                ? "Model at step " + step + " (an epoch's end) evaluated on the validation split"
                                : "Fine-tuned model evaluated on the validation split";
                return jobs.update(tx, scored)
                        .chain(() -> jobs.addEvent(tx, jobId, JobEvent.INFO, JobEvent.METRICS, message, metrics));
            });
            case "metrics" -> steps(jobId, List.of(line));
            case "checkpoint" -> checkpoint(jobId, line);
            case "message" -> inTransaction(jobId, (tx, job) -> jobs.addEvent(tx, jobId,
                    line.path("level").asText().equals("warning") ? JobEvent.WARN : JobEvent.INFO,
                    JobEvent.MESSAGE, line.path("text").asText(""), Map.of()));
            case "succeeded", "failed" -> {
                // Recorded with the exit, which decides the state.
            }
            default -> LOG.warnf("Job %s: the worker reported an unknown line type '%s'", jobId, type);
        }
    }

    /**
     * Records consecutive {@code metrics} reports in one transaction: the job's progress at the last, an event for
     * each step. A worker reports every step; recording a second's worth at once keeps the database work per step
     * small beside the training it shares the machine with.
     */
    public void steps(String jobId, List<JsonNode> lines) {
        if (lines.isEmpty()) {
            return;
        }
        inTransaction(jobId, (tx, job) -> {
            long last = lines.get(lines.size() - 1).path("step").asLong();
            Uni<?> recorded = jobs.update(tx, withProgress(job, last, job.totalSteps(), job.attempt(),
                    job.workerPid(), job.startedAt()));
            for (JsonNode line : lines) {
                long step = line.path("step").asLong();
                Map<String, Double> metrics = numbers(line, List.of("step", "epoch", "loss", "learning_rate",
                        "grad_norm", "tokens_per_second"));
                boolean skipped = line.path("skipped").asBoolean(false);
                recorded = recorded.chain(() -> jobs.addEvent(tx, jobId, skipped ? JobEvent.WARN : JobEvent.INFO,
                        JobEvent.METRICS, "Step " + step + (skipped
                                ? " skipped: the gradients overflowed at this loss scale"
                                : ""),
                        metrics));
            }
            return recorded;
        });
    }

    private void checkpoint(String jobId, JsonNode line) {
        long step = line.path("step").asLong();
        Path folder = Path.of(line.path("path").asText());
        String hash;
        try {
            hash = FolderHash.of(folder);
        } catch (IOException | RuntimeException e) {
            // The worker keeps only its last checkpoints: a fast run may have replaced this one already.
            LOG.warnf("Job %s: checkpoint of step %d not hashed: %s", jobId, step, e.getMessage());
            return;
        }
        inTransaction(jobId, (tx, job) -> jobs.stepMetrics(tx, jobId, step)
                .chain(metrics -> jobs.addCheckpoint(tx, new JobCheckpoint(jobId, step, Ids.newId().toString(),
                        metrics, hash, folder.toString(), JobRepository.micros(Instant.now()))))
                .chain(() -> jobs.addEvent(tx, jobId, JobEvent.INFO, JobEvent.MESSAGE, "Checkpoint saved at step "
                        + step, Map.of())));
    }

    /**
     * Decides what follows a worker's end: the state a cancel or pause asked for, success (the weights sealed
     * and registered as a model version), a failure the worker explained, or, for a crash, a relaunch from the
     * last checkpoint while attempts remain.
     *
     * @return the job as it is now
     */
    public Job exited(String jobId, Exit exit) {
        Sealing sealing = seal(jobId, exit);
        Exit outcome = sealing.exit();
        Job ended;
        try {
            ended = inTransaction(jobId, (tx, job) -> decide(tx, job, outcome, sealing));
        } catch (RuntimeException e) {
            // A timeout does not say the transaction failed: keep the sealed files if the version was recorded.
            boolean recorded = sealing.versionId() != null && jobs.find(jobId)
                    .await()
                    .atMost(DB_TIMEOUT)
                    .map(job -> sealing.versionId().equals(job.resultModelVersionId()))
                    .orElse(false);
            if (!recorded) {
                discard(sealing);
            }
            throw e;
        }
        if (ended.status() != JobStatus.SUCCEEDED) {
            discard(sealing);
        }
        if (ended.status().ended()) {
            removePlaintextWeights(ended);
        }
        return ended;
    }

    /** The weights of a worker that succeeded, sealed for the model version about to be registered. */
    private record Sealing(Exit exit, String tenant, String versionId, ModelArtifacts.Sealed sealed) {
    }

    private Sealing seal(String jobId, Exit exit) {
        if (exit.exitCode() != 0 || exit.artifact() == null) {
            return new Sealing(exit, null, null, null);
        }
        Job job = jobs.find(jobId).await().atMost(DB_TIMEOUT).orElseThrow();
        String versionId = ModelVersionService.newId();
        try {
            return new Sealing(exit, job.tenant(), versionId, artifacts.seal(job.tenant(), versionId,
                    Path.of(exit.artifact())));
        } catch (IOException | RuntimeException e) {
            LOG.errorf(e, "Job %s: the trained weights could not be sealed", jobId);
            return new Sealing(new Exit(1, "the trained weights could not be stored encrypted: " + e.getMessage(),
                    null, exit.trainRecordHashes(), exit.validationRecordHashes()), job.tenant(), versionId, null);
        }
    }

    private void discard(Sealing sealing) {
        if (sealing.versionId() == null) {
            return;
        }
        try {
            artifacts.delete(sealing.tenant(), sealing.versionId());
        } catch (IOException e) {
            LOG.warnf(e, "Sealed files of unregistered model version %s left behind", sealing.versionId());
        }
    }

    /**
     * The plaintext weights an ended job's worker left (checkpoints, the adapter or model): a succeeded job's are
     * sealed in its model version now, and an ended job is never resumed. A paused job keeps its checkpoints.
     */
    public static void removePlaintextWeights(Job job) {
        Path output = Path.of(job.outputPath());
        for (String folder : List.of("adapter", "model", "checkpoints")) {
            try {
                PrivateFolders.deleteTree(output.resolve(folder));
            } catch (IOException e) {
                LOG.warnf(e, "Job %s: %s not removed from its folder", job.id(), folder);
            }
        }
    }

    private Uni<Job> decide(SqlClient tx, Job job, Exit exit, Sealing sealing) {
        if (job.status().ended() || !job.status().hasWorker()) {
            return Uni.createFrom().item(job);
        }
        Job next;
        String message;
        String audit = null;
        ModelVersion version = null;
        if ("cancel".equals(job.stopRequested())) {
            next = JobService.ended(job, JobStatus.CANCELLED, "");
            message = "Job cancelled; the worker has stopped";
        } else if (exit.exitCode() == 0 && sealing.sealed() != null) {
            version = registry.candidate(sealing.versionId(), job, sealing.sealed(), exit.trainRecordHashes().size(),
                    exit.validationRecordHashes().size());
            next = withResult(JobService.ended(job, JobStatus.SUCCEEDED, ""), exit.artifact(), version.id());
            message = "Job succeeded after " + job.trainedSteps() + " steps; model version " + version.name()
                    + " registered for review";
            audit = SUCCEEDED;
        } else if ("pause".equals(job.stopRequested())) {
            // Whatever the exit (a worker killed after the grace period too): the user asked for a pause, and a
            // resume continues from the last checkpoint. A pause is not an attempt that failed.
            next = withProgress(JobService.with(job, JobStatus.PAUSED, null), job.trainedSteps(), job.totalSteps(),
                    job.attempt() - 1, null, job.startedAt());
            message = "Job paused at step " + job.trainedSteps() + "; a resume continues from its checkpoint";
        } else if (exit.failedReason() != null && (exit.exitCode() == 1 || exit.exitCode() == 2)) {
            next = JobService.ended(job, JobStatus.FAILED, exit.failedReason());
            message = "Job failed: " + exit.failedReason();
            audit = FAILED;
        } else if (job.attempt() < config.jobs().maxAttempts()) {
            next = withProgress(JobService.with(job, JobStatus.QUEUED, null), job.trainedSteps(), job.totalSteps(),
                    job.attempt(), null, job.startedAt());
            message = "The worker stopped unexpectedly (exit code " + exit.exitCode() + "); the job is queued to"
                    + " continue from its last checkpoint";
        } else {
            String reason = "the worker stopped unexpectedly " + job.attempt() + " times (last exit code "
                    + exit.exitCode() + "); its log is worker.log in the job's folder on the training node";
            next = JobService.ended(job, JobStatus.FAILED, reason);
            message = "Job failed: " + reason;
            audit = FAILED;
        }
        String level = next.status() == JobStatus.FAILED
                ? JobEvent.ERROR
                : next.status() == JobStatus.QUEUED ? JobEvent.WARN : JobEvent.INFO;
        String auditAction = audit;
        ModelVersion registered = version;
        return jobs.update(tx, next)
                .chain(() -> registered == null
                        ? Uni.createFrom().voidItem()
                        : registry.register(tx, registered, exit.trainRecordHashes(), exit.validationRecordHashes()))
                .chain(() -> jobs.addEvent(tx, job.id(), level, JobEvent.MESSAGE, message, Map.of()))
                .chain(() -> auditAction == null
                        ? Uni.createFrom().voidItem()
                        : outbox.add(tx, AuditEvents.bySystem(BaseModelService.AUDIT_SOURCE, job.tenant(), auditAction,
                                "fine_tuning_job", job.id(),
                                auditAction.equals(SUCCEEDED) ? Outcome.OUTCOME_SUCCESS : Outcome.OUTCOME_FAILED,
                                auditAction.equals(SUCCEEDED)
                                        ? Map.of("trained_steps", next.trainedSteps(), "evaluation", next.evaluation(),
                                                "base_evaluation", next.baseEvaluation(), "model_version_id",
                                                registered.id())
                                        : Map.of("failure_reason", next.failureReason()))))
                .replaceWith(next);
    }

    /**
     * After a restart of the service: a job that had a worker is queued again to continue from its last
     * checkpoint (the restart does not count as an attempt), or ended if a cancel was under way.
     */
    public Job reconcile(String jobId) {
        return inTransaction(jobId, (tx, job) -> {
            if (!job.status().hasWorker()) {
                return Uni.createFrom().item(job);
            }
            Job next;
            String message;
            if ("cancel".equals(job.stopRequested())) {
                next = JobService.ended(job, JobStatus.CANCELLED, "");
                message = "Job cancelled (the training-service restarted while its worker stopped)";
            } else if ("pause".equals(job.stopRequested())) {
                next = withProgress(JobService.with(job, JobStatus.PAUSED, null), job.trainedSteps(),
                        job.totalSteps(), job.attempt() - 1, null, job.startedAt());
                message = "Job paused at its last checkpoint (the training-service restarted while its worker"
                        + " stopped)";
            } else {
                next = withProgress(JobService.with(job, JobStatus.QUEUED, null), job.trainedSteps(),
                        job.totalSteps(), job.attempt() - 1, null, job.startedAt());
                message = "The training-service restarted (or lost track of the job's worker); the job is queued to"
                        + " continue from its last checkpoint";
            }
            return jobs.update(tx, next)
                    .chain(() -> jobs.addEvent(tx, jobId, JobEvent.WARN, JobEvent.MESSAGE, message, Map.of()))
                    .replaceWith(next);
        });
    }

    /** Runs a change of one job in a transaction, with the job's row locked, and waits for the commit. */
    private <T> T inTransaction(String jobId, BiFunction<SqlClient, Job, Uni<T>> change) {
        return jobs.pool()
                .withTransaction(tx -> jobs.lock(tx, jobId)
                        .chain(job -> change.apply(tx, job.orElseThrow(
                                () -> new IllegalStateException("job " + jobId + " does not exist")))))
                .await()
                .atMost(DB_TIMEOUT);
    }

    /** The numeric fields of a report line that are finite numbers (JSON and jsonb have no NaN). */
    private static Map<String, Double> numbers(JsonNode line, List<String> names) {
        Map<String, Double> values = new LinkedHashMap<>();
        for (String name : names) {
            JsonNode value = line.get(name);
            if (value != null && value.isNumber() && Double.isFinite(value.asDouble())) {
                values.put(name, value.asDouble());
            }
        }
        return values;
    }

    static Job withProgress(Job job, long trainedSteps, long totalSteps, int attempt, Long workerPid,
            Instant startedAt) {
        return job.with(c -> {
            c.trainedSteps = trainedSteps;
            c.totalSteps = totalSteps;
            c.attempt = attempt;
            c.workerPid = workerPid;
            c.startedAt = startedAt;
        });
    }

    private static Job withEvaluation(Job job, Map<String, Double> evaluation, Map<String, Double> baseEvaluation) {
        return job.with(c -> {
            c.evaluation = evaluation;
            c.baseEvaluation = baseEvaluation;
        });
    }

    private static Job withResult(Job job, String artifact, String modelVersionId) {
        return job.with(c -> {
            c.artifactPath = artifact;
            c.resultModelVersionId = modelVersionId;
        });
    }
}
