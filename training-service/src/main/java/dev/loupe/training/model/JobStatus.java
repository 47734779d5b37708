package dev.loupe.training.model;

import java.util.Arrays;

import dev.loupe.contracts.training.v1.JobState;

/**
 * Where a fine-tuning job is. A job is accepted {@code queued} (the request was checked before); a launched worker
 * first reads and checks every example ({@code validating_files}), then trains ({@code running}). It ends
 * {@code succeeded}, {@code failed} (with a reason) or {@code cancelled}; a pause stops the worker after a
 * checkpoint ({@code paused}) and a resume queues the job again, to continue from that checkpoint.
 */
public enum JobStatus {
    QUEUED("queued", JobState.JOB_STATE_QUEUED), VALIDATING_FILES("validating_files",
            JobState.JOB_STATE_VALIDATING_FILES), RUNNING("running", JobState.JOB_STATE_RUNNING), PAUSED("paused",
                    JobState.JOB_STATE_PAUSED), SUCCEEDED("succeeded", JobState.JOB_STATE_SUCCEEDED), FAILED("failed",
                            JobState.JOB_STATE_FAILED), CANCELLED("cancelled", JobState.JOB_STATE_CANCELLED);

    /** As the database and the REST API write it. */
    public final String dbName;
    public final JobState proto;

    JobStatus(String dbName, JobState proto) {
        this.dbName = dbName;
        this.proto = proto;
    }

    /** Whether the job has ended for good. */
    public boolean ended() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED;
    }

    /** Whether a worker process may be alive for the job. */
    public boolean hasWorker() {
        return this == VALIDATING_FILES || this == RUNNING;
    }

    public static JobStatus ofDb(String name) {
        return Arrays.stream(values())
                .filter(status -> status.dbName.equals(name))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown job state " + name));
    }

    public static JobStatus ofProto(JobState state) {
        return Arrays.stream(values())
                .filter(status -> status.proto == state)
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown job state " + state));
    }
}
