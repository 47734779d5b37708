package dev.loupe.training.worker;

import java.nio.file.Path;
import java.time.Duration;

import dev.loupe.training.model.Job;

/**
 * Where trainer workers run: {@link LocalWorkers} (child JVMs of this service, the default) or
 * {@link KubernetesWorkers} (a Kubernetes Job per launch), chosen by {@code loupe.training.worker.executor}. The
 * scheduler decides what runs; an executor starts, follows and stops workers, and records each worker's end through
 * {@code JobProgress.exited} (then {@link #runs} turns false).
 */
public interface WorkerExecutor {

    /** Workers this service follows now. */
    int count();

    /** Whether this service follows a worker of the job now. */
    boolean runs(String jobId);

    /**
     * Starts the worker of a claimed job. A failure to start is recorded as the worker's exit, so the job is retried
     * or fails like after a crash.
     */
    void launch(Job job, Path baseModel);

    /**
     * Tells a job's worker to stop (it finishes its step and saves a checkpoint) and ends it if it has not exited
     * after the grace period. Returns at once.
     */
    void stop(String jobId, Duration grace);

    /**
     * Stops a worker of the job that this service does not follow (one a previous run of the service left behind),
     * if there is one, and returns when it is gone.
     */
    void stopOrphan(Job job);
}
