package dev.loupe.training.model;

import java.time.Instant;
import java.util.Map;

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
}
