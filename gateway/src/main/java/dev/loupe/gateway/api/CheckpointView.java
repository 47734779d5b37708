package dev.loupe.gateway.api;

import java.time.Instant;
import java.util.Map;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import dev.loupe.contracts.training.v1.Checkpoint;
import dev.loupe.support.grpc.ProtoTime;

/**
 * A checkpoint a fine-tuning job wrote, from which a paused or restarted job resumes.
 *
 * @param step the training step it was written after
 * @param metrics the metric values at that step
 * @param contentHash SHA-256 of the checkpoint's files, so that a resume can prove it loaded what was written
 */
@Schema(name = "FineTuningJobCheckpoint")
public record CheckpointView(String id, String object, long step, Map<String, Double> metrics, String contentHash,
        Instant createdAt) {

    public static CheckpointView of(Checkpoint checkpoint) {
        return new CheckpointView(checkpoint.getId(), "fine_tuning.job.checkpoint", checkpoint.getStep(),
                checkpoint.getMetricsMap(), checkpoint.getContentHash(),
                ProtoTime.toInstant(checkpoint.getCreatedAt()));
    }
}
