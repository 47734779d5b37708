package dev.loupe.training.model;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A fine-tuned model version as stored (table {@code model_version}).
 *
 * @param state {@code pending_review}, {@code approved}, {@code quarantined}, {@code retired} or {@code erased}
 * @param config {@code {"method": {...}, "hyperparameters": {...}}} of the job
 * @param artifactFiles the artifact's file names in name order
 * @param wrappedKey the version's data key, wrapped under {@code keyName}
 */
public record ModelVersion(String id, String tenant, String name, String jobId, String state, String baseModelId,
        String baseModelHash, String datasetId, String datasetVersionId, String manifestHash, String codeVersion,
        long seed, Map<String, Object> config, Map<String, String> hardware, long trainedRecordCount,
        long validationRecordCount, Map<String, Double> evaluation, Map<String, Double> baseEvaluation,
        String artifactKind, String artifactHash, long artifactBytes, List<String> artifactFiles, String keyName,
        String wrappedKey, Instant createdAt, String trainedByUserId, String trainedByUsername,
        String reviewedByUserId, String reviewedByUsername, String reviewComment, Instant reviewedAt) {

    public static final String PENDING_REVIEW = "pending_review";
    public static final String APPROVED = "approved";
    public static final String QUARANTINED = "quarantined";
    public static final String RETIRED = "retired";

    /** The version after a review. */
    public ModelVersion reviewed(String newState, String userId, String username, String comment, Instant at) {
        return new ModelVersion(id, tenant, name, jobId, newState, baseModelId, baseModelHash, datasetId,
                datasetVersionId, manifestHash, codeVersion, seed, config, hardware, trainedRecordCount,
                validationRecordCount, evaluation, baseEvaluation, artifactKind, artifactHash, artifactBytes,
                artifactFiles, keyName, wrappedKey, createdAt, trainedByUserId, trainedByUsername, userId, username,
                comment, at);
    }
}
