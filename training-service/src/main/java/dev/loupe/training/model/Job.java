package dev.loupe.training.model;

import java.time.Instant;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A fine-tuning job as stored (table {@code fine_tuning_job}).
 *
 * @param method the worker's {@code method} object, defaults filled in
 * @param hyperparameters the worker's {@code hyperparameters} object, defaults filled in
 * @param stopRequested {@code cancel} or {@code pause} while the worker is being stopped; null otherwise
 * @param workerPid the running worker's process id; null when none runs
 * @param outputPath the folder the worker writes checkpoints and the result into
 * @param artifactPath the adapter or model folder of a succeeded job; empty otherwise
 * @param resultModelVersionId the model version a succeeded job registered; null otherwise
 */
public record Job(String id, String tenant, String baseModelId, String baseModelHash, String datasetId,
        String datasetVersionId, String manifestHash, long trainCount, long validationCount, String validationSplit,
        Map<String, Object> method, Map<String, Object> hyperparameters, long seed, String suffix,
        Map<String, String> metadata, int priority, long estimatedMemoryBytes, JobStatus status,
        String stopRequested, String failureReason, long trainedSteps, long totalSteps, int attempt, Long workerPid,
        Map<String, Double> evaluation, Map<String, Double> baseEvaluation, String outputPath, String artifactPath,
        String resultModelVersionId, Instant createdAt, Instant startedAt, Instant finishedAt, String createdByUserId,
        String createdByUsername) {

    /** The job with some of the columns a run changes set anew, e.g. {@code job.with(c -> c.attempt++)}. */
    public Job with(Consumer<Changes> change) {
        Changes changes = new Changes(this);
        change.accept(changes);
        return new Job(id, tenant, baseModelId, baseModelHash, datasetId, datasetVersionId, manifestHash, trainCount,
                validationCount, validationSplit, method, hyperparameters, seed, suffix, metadata, priority,
                estimatedMemoryBytes, changes.status, changes.stopRequested, changes.failureReason,
                changes.trainedSteps, changes.totalSteps, changes.attempt, changes.workerPid, changes.evaluation,
                changes.baseEvaluation, outputPath, changes.artifactPath, changes.resultModelVersionId, createdAt,
                changes.startedAt, changes.finishedAt, createdByUserId, createdByUsername);
    }

    /** The columns of a job that change while it runs; the others are fixed when it is created. */
    public static final class Changes {
        public JobStatus status;
        public String stopRequested;
        public String failureReason;
        public long trainedSteps;
        public long totalSteps;
        public int attempt;
        public Long workerPid;
        public Map<String, Double> evaluation;
        public Map<String, Double> baseEvaluation;
        public String artifactPath;
        public String resultModelVersionId;
        public Instant startedAt;
        public Instant finishedAt;

        private Changes(Job job) {
            status = job.status;
            stopRequested = job.stopRequested;
            failureReason = job.failureReason;
            trainedSteps = job.trainedSteps;
            totalSteps = job.totalSteps;
            attempt = job.attempt;
            workerPid = job.workerPid;
            evaluation = job.evaluation;
            baseEvaluation = job.baseEvaluation;
            artifactPath = job.artifactPath;
            resultModelVersionId = job.resultModelVersionId;
            startedAt = job.startedAt;
            finishedAt = job.finishedAt;
        }
    }
}
