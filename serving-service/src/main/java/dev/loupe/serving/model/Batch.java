package dev.loupe.serving.model;

import java.time.Instant;

/**
 * A batch inference run: a deployment answers every example of a dataset version's split.
 *
 * @param split {@link #VALIDATION} or {@link #TRAIN}
 * @param total examples in the split, 0 until all are read
 * @param nextPosition the manifest position after the last stored answer
 * @param keyName the tenant's KEK that wraps the batch's data key
 * @param finishedAt null until the batch ends
 */
public record Batch(String id, String tenant, String deploymentId, String deploymentName, String modelVersionId,
        String datasetVersionId, String split, int maxTokens, double temperature, String jsonSchema, String state,
        String failureReason, long total, long completed, long failed, long nextPosition, String keyName,
        String wrappedKey, Instant createdAt, String createdByUserId, String createdByUsername, Instant finishedAt) {
    public static final String VALIDATION = "validation";
    public static final String TRAIN = "train";
    public static final String QUEUED = "queued";
    public static final String RUNNING = "running";
    public static final String SUCCEEDED = "succeeded";
    public static final String FAILED = "failed";
    public static final String CANCELLED = "cancelled";

    public boolean ended() {
        return state.equals(SUCCEEDED) || state.equals(FAILED) || state.equals(CANCELLED);
    }
}
