package dev.loupe.gateway.api;

import java.time.Instant;

import dev.loupe.contracts.serving.v1.Batch;
import dev.loupe.contracts.serving.v1.BatchSplit;
import dev.loupe.support.grpc.ProtoTime;

/**
 * A batch as the REST API shows it: a deployment answering every example of a dataset version's split.
 *
 * @param model the deployment's name
 * @param status {@code queued}, {@code running}, {@code succeeded}, {@code failed} (see failureReason) or
 *        {@code cancelled}
 * @param total examples in the split, known once the batch has read them all (0 before)
 * @param completed examples answered
 * @param failed examples without an answer (their error is in the results)
 * @param finishedAt null until the batch ends
 */
public record BatchView(String object, String id, String model, String deploymentId, String modelVersionId,
        String datasetVersion, String split, String status, String failureReason, long total, long completed,
        long failed, int maxTokens, double temperature, Instant createdAt, ActorView createdBy, Instant finishedAt) {

    public static BatchView of(Batch batch) {
        return new BatchView("batch", batch.getId(), batch.getDeploymentName(), batch.getDeploymentId(),
                batch.getModelVersionId(), batch.getDatasetVersionId(),
                batch.getSplit() == BatchSplit.BATCH_SPLIT_TRAIN ? "train" : "validation",
                batch.getState().name().substring("BATCH_STATE_".length()).toLowerCase(java.util.Locale.ROOT),
                batch.getFailureReason().isEmpty() ? null : batch.getFailureReason(), batch.getTotal(),
                batch.getCompleted(), batch.getFailed(), batch.getMaxTokens(), batch.getTemperature(),
                ProtoTime.toInstant(batch.getCreatedAt()), ActorView.of(batch.getCreatedBy()),
                batch.hasFinishedAt() ? ProtoTime.toInstant(batch.getFinishedAt()) : null);
    }

    /**
     * One example's answer.
     *
     * @param position the example's place in the dataset version's manifest
     * @param content the answer; null when the example has none (see error)
     * @param finishReason {@code stop}, {@code length} or {@code error}
     * @param error why the example has no answer
     */
    public record ResultView(long position, String recordId, String recordHash, String content,
            String finishReason, String error, UsageView usage) {
        public static ResultView of(dev.loupe.contracts.serving.v1.BatchResult result) {
            boolean failed = result.getFinishReason().equals("error");
            return new ResultView(result.getPosition(), result.getRecordId(), result.getRecordHash(),
                    failed ? null : result.getText(), result.getFinishReason(), failed ? result.getError() : null,
                    new UsageView(result.getUsage().getPromptTokens(), result.getUsage().getCompletionTokens(),
                            result.getUsage().getPromptTokens() + result.getUsage().getCompletionTokens()));
        }
    }

    /** Tokens of one answer, as OpenAI counts them (image tokens are prompt tokens). */
    public record UsageView(int promptTokens, int completionTokens, int totalTokens) {
    }
}
