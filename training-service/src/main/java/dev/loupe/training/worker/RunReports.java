package dev.loupe.training.worker;

import java.io.IOException;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jboss.logging.Logger;

import dev.loupe.training.job.JobProgress;

/**
 * The reports of one worker run, whichever executor carries them: each line goes into the job's history as it
 * arrives, and the worker's failure reason and result are kept for its end. Used by one thread (or one gRPC
 * stream) at a time.
 */
final class RunReports {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = Logger.getLogger(RunReports.class);

    private final String jobId;
    private final JobProgress progress;
    private String failedReason;
    private String artifact;

    RunReports(String jobId, JobProgress progress) {
        this.jobId = jobId;
        this.progress = progress;
    }

    /** Records one report line of the trainer worker; a line that cannot be recorded is logged and skipped. */
    void line(String text) {
        try {
            JsonNode line = JSON.readTree(text);
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
        }
    }

    /**
     * The run's end as the job's history records it.
     *
     * @param feedFailed the example stream broke off: the platform's fault, not the examples', so the worker's
     *        failure reason is dropped and the job is retried as after a crash
     */
    JobProgress.Exit exit(int exitCode, boolean feedFailed, List<String> trainRecordHashes,
            List<String> validationRecordHashes) {
        return new JobProgress.Exit(exitCode, feedFailed ? null : failedReason, artifact, trainRecordHashes,
                validationRecordHashes);
    }
}
