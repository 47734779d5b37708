package dev.loupe.gateway.api;

import java.time.Instant;

import dev.loupe.contracts.serving.v1.Deployment;
import dev.loupe.contracts.serving.v1.DeploymentState;
import dev.loupe.support.grpc.ProtoTime;

/**
 * A deployment as the REST API shows it: an approved model version served under a name, which chat completions
 * name as {@code model}.
 *
 * @param status {@code ready}, {@code failed} (see failureReason) or {@code suspended} (its model version was
 *        quarantined or retired: it answers no request)
 * @param maxBatchSize requests generated together in one batch
 * @param maxConcurrentSequences requests admitted at once; beyond it a request is answered 429
 * @param evaluationSchedule the scheduled evaluation's Quartz cron expression; null for none
 * @param evaluationDatasetVersion the dataset version it evaluates on; null for none
 */
public record DeploymentView(String object, String id, String name, String modelVersionId, String modelVersionName,
        String baseModelId, String status, String failureReason, int maxBatchSize, int maxConcurrentSequences,
        boolean cacheEnabled, String evaluationSchedule, String evaluationDatasetVersion, Instant createdAt,
        ActorView createdBy) {

    public static DeploymentView of(Deployment deployment) {
        return new DeploymentView("deployment", deployment.getId(), deployment.getName(),
                deployment.getModelVersionId(), deployment.getModelVersionName(), deployment.getBaseModelId(),
                statusName(deployment.getState()),
                deployment.getFailureReason().isEmpty() ? null : deployment.getFailureReason(),
                deployment.getOptions().getMaxBatchSize(), deployment.getOptions().getMaxConcurrentSequences(),
                deployment.getOptions().getCacheEnabled(),
                deployment.getOptions().getEvaluationSchedule().isEmpty()
                        ? null
                        : deployment.getOptions().getEvaluationSchedule(),
                deployment.getOptions().getEvaluationDatasetVersionId().isEmpty()
                        ? null
                        : deployment.getOptions().getEvaluationDatasetVersionId(),
                ProtoTime.toInstant(deployment.getCreatedAt()),
                ActorView.of(deployment.getCreatedBy()));
    }

    static String statusName(DeploymentState state) {
        return switch (state) {
            case DEPLOYMENT_STATE_READY -> "ready";
            case DEPLOYMENT_STATE_LOADING -> "loading";
            case DEPLOYMENT_STATE_SUSPENDED -> "suspended";
            default -> "failed";
        };
    }
}
