package dev.loupe.training.worker;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jboss.logging.Logger;

import dev.loupe.training.job.JobProgress;

/**
 * The reports of one worker run, whichever executor carries them: each line goes into the job's history, and the
 * worker's failure reason and result are kept for its end. Step metrics, which come every step, are recorded in
 * groups: when the first of a group is {@link #STEPS_DELAY} old (checked as lines arrive and by the executor's
 * {@link #flushIfDue()}), before any other report, and at the end. Thread-safe.
 */
final class RunReports {
    /** How long a step's metrics may wait to be recorded with the next ones. */
    static final Duration STEPS_DELAY = Duration.ofSeconds(1);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = Logger.getLogger(RunReports.class);

    private final String jobId;
    private final JobProgress progress;
    private final ReentrantLock lock = new ReentrantLock();
    private final List<JsonNode> steps = new ArrayList<>();
    private long firstStepNanos;
    private String failedReason;
    private String artifact;

    RunReports(String jobId, JobProgress progress) {
        this.jobId = jobId;
        this.progress = progress;
    }

    /** Records one report line of the trainer worker; a line that cannot be recorded is logged and skipped. */
    void line(String text) {
        lock.lock();
        try {
            JsonNode line = JSON.readTree(text);
            if (line.path("type").asText().equals("metrics")) {
                if (steps.isEmpty()) {
                    firstStepNanos = System.nanoTime();
                }
                steps.add(line);
                flushIfDue();
                return;
            }
            flushSteps();
            switch (line.path("type").asText()) {
                case "failed" -> failedReason = line.path("reason").asText("the worker failed");
                case "succeeded" -> artifact = line.hasNonNull("adapter")
                        ? line.get("adapter").asText()
                        : line.path("model").asText(null);
                default -> {
                }
            }
            progress.report(jobId, line);
        } catch (IOException | RuntimeException e) {
            LOG.warnf(e, "Job %s: a report line could not be recorded: %s", jobId, text);
        } finally {
            lock.unlock();
        }
    }

    /** Records the waiting step metrics if the first of them has waited {@link #STEPS_DELAY}. */
    void flushIfDue() {
        // A report being recorded (a checkpoint hashed, a slow database) is not waited for: the next look flushes.
        if (!lock.tryLock()) {
            return;
        }
        try {
            if (!steps.isEmpty() && System.nanoTime() - firstStepNanos >= STEPS_DELAY.toNanos()) {
                flushSteps();
            }
        } finally {
            lock.unlock();
        }
    }

    private void flushSteps() {
        if (steps.isEmpty()) {
            return;
        }
        try {
            progress.steps(jobId, List.copyOf(steps));
        } catch (RuntimeException e) {
            LOG.warnf(e, "Job %s: %d step reports could not be recorded", jobId, steps.size());
        } finally {
            steps.clear();
        }
    }

    /**
     * The run's end as the job's history records it (the waiting step metrics recorded first).
     *
     * @param feedFailed the example stream broke off: the platform's fault, not the examples', so the worker's
     *        failure reason is dropped and the job is retried as after a crash
     */
    JobProgress.Exit exit(int exitCode, boolean feedFailed, List<String> trainRecordHashes,
            List<String> validationRecordHashes) {
        lock.lock();
        try {
            flushSteps();
        } finally {
            lock.unlock();
        }
        return new JobProgress.Exit(exitCode, feedFailed ? null : failedReason, artifact, trainRecordHashes,
                validationRecordHashes);
    }
}
