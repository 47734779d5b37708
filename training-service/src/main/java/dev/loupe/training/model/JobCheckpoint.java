package dev.loupe.training.model;

import java.time.Instant;
import java.util.Map;

/**
 * A checkpoint a job's worker saved (table {@code fine_tuning_job_checkpoint}), with the step's metrics.
 *
 * @param contentHash SHA-256 over the checkpoint's files, as for base models
 * @param path its folder; the worker keeps the last two, so older rows name folders that are gone
 */
public record JobCheckpoint(String jobId, long step, String id, Map<String, Double> metrics, String contentHash,
        String path, Instant createdAt) {
}
