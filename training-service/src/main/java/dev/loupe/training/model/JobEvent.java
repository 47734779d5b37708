package dev.loupe.training.model;

import java.time.Instant;
import java.util.Map;

/**
 * One event of a job's history (table {@code fine_tuning_job_event}): a message, or the metrics of a step or an
 * evaluation.
 *
 * @param sequence gapless per job, from 1
 * @param level {@code info}, {@code warn} or {@code error}
 * @param type {@code message} or {@code metrics}
 */
public record JobEvent(String jobId, long sequence, String id, String level, String type, String message,
        Map<String, Double> metrics, Instant createdAt) {

    public static final String INFO = "info";
    public static final String WARN = "warn";
    public static final String ERROR = "error";
    public static final String MESSAGE = "message";
    public static final String METRICS = "metrics";
}
