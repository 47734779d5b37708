package dev.loupe.gateway.api;

import java.time.Instant;
import java.util.Map;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import dev.loupe.contracts.training.v1.EventLevel;
import dev.loupe.contracts.training.v1.EventType;
import dev.loupe.contracts.training.v1.JobEvent;
import dev.loupe.support.grpc.ProtoTime;

/**
 * One event of a fine-tuning job: a message, or the metrics of a training step.
 *
 * @param sequence gapless per job, from 1: pass the last one seen as {@code after} (or, on the event stream,
 *        {@code Last-Event-ID}) to go on from there
 * @param data the metric values of a {@code metrics} event (step, train_loss, valid_loss, learning_rate, ...);
 *        null for a {@code message} event
 */
@Schema(name = "FineTuningJobEvent")
public record JobEventView(String id, String object, long sequence,
        @Schema(enumeration = {
                "info", "warn", "error"}) String level,
        @Schema(enumeration = {"message", "metrics"}) String type, String message, Map<String, Double> data,
        Instant createdAt) {

    public static JobEventView of(JobEvent event) {
        return new JobEventView(event.getId(), "fine_tuning.job.event", event.getSequence(),
                levelName(event.getLevel()), typeName(event.getType()), event.getMessage(),
                event.getMetricsCount() == 0 ? null : event.getMetricsMap(),
                ProtoTime.toInstant(event.getCreatedAt()));
    }

    /** The REST name of a level; null when unspecified. */
    public static String levelName(EventLevel level) {
        return switch (level) {
            case EVENT_LEVEL_INFO, EVENT_LEVEL_WARN, EVENT_LEVEL_ERROR -> JobView.suffix(level.name(), "EVENT_LEVEL_");
            case EVENT_LEVEL_UNSPECIFIED, UNRECOGNIZED -> null;
        };
    }

    /** The REST name of an event type, also the SSE event name on the event stream; null when unspecified. */
    public static String typeName(EventType type) {
        return switch (type) {
            case EVENT_TYPE_MESSAGE, EVENT_TYPE_METRICS -> JobView.suffix(type.name(), "EVENT_TYPE_");
            case EVENT_TYPE_UNSPECIFIED, UNRECOGNIZED -> null;
        };
    }
}
