package dev.loupe.serving.model;

import java.time.Instant;

/**
 * A deployment: an approved model version served under a name.
 *
 * @param evaluationSchedule Quartz cron expression of its scheduled evaluation; empty for none
 * @param evaluationDatasetVersionId the frozen dataset version it is evaluated on; empty without a schedule
 * @param state {@link #READY}, {@link #FAILED} or {@link #SUSPENDED}
 */
public record Deployment(String id, String tenant, String name, String modelVersionId, String modelVersionName,
        String baseModelId, int maxBatchSize, int maxConcurrentSequences, boolean cacheEnabled,
        String evaluationSchedule, String evaluationDatasetVersionId, String state, String failureReason,
        Instant createdAt, String createdByUserId, String createdByUsername) {
    public static final String READY = "ready";
    public static final String FAILED = "failed";
    /** Its model version is no longer approved (quarantined or retired): it answers no request. */
    public static final String SUSPENDED = "suspended";

    public Deployment withState(String newState, String reason) {
        return new Deployment(id, tenant, name, modelVersionId, modelVersionName, baseModelId, maxBatchSize,
                maxConcurrentSequences, cacheEnabled, evaluationSchedule, evaluationDatasetVersionId, newState, reason,
                createdAt, createdByUserId, createdByUsername);
    }
}
