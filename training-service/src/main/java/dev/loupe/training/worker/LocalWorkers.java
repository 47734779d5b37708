package dev.loupe.training.worker;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Event;
import jakarta.enterprise.inject.Typed;

import io.quarkus.grpc.GrpcClient;
import org.jboss.logging.Logger;

import dev.loupe.contracts.dataset.v1.ExampleServiceGrpc.ExampleServiceBlockingStub;
import dev.loupe.support.audit.ServiceAccountTokens;
import dev.loupe.training.config.TrainingConfig;
import dev.loupe.training.job.JobProgress;
import dev.loupe.training.job.JobService;
import dev.loupe.training.model.Job;
import dev.loupe.training.model.JobEvent;

/**
 * The local executor: each job's trainer worker runs as a child JVM on this node ({@code TrainerWorker} of the
 * vlm-engine, with its own heap limit and DJL offline), never in this service's JVM. For each worker three
 * threads: one streams the examples into its standard input ({@link ExampleFeed}), one reads its reports from
 * standard output into the job's history ({@link JobProgress}), and that one, at the end of the output, waits for
 * the exit and records what follows. Standard error goes to {@code worker.log} in the job's folder.
 */
@ApplicationScoped
@Typed(LocalWorkers.class)
public class LocalWorkers implements WorkerExecutor {
    static final String SPEC_FILE = "job-spec.json";
    static final String LOG_FILE = "worker.log";
    private static final Logger LOG = Logger.getLogger(LocalWorkers.class);

    /** A worker process and whether it has been told to stop. */
    private record Running(Process process, AtomicBoolean stopping) {
    }

    private final Map<String, Running> running = new ConcurrentHashMap<>();
    /** Kills workers that outlive their grace period. */
    private final ScheduledExecutorService timer = Executors
            .newSingleThreadScheduledExecutor(DaemonThreads.named("worker-killer"));
    /** Records waiting step reports (database work, kept off the kill deadlines). */
    private final ScheduledExecutorService flusher = Executors
            .newSingleThreadScheduledExecutor(DaemonThreads.named("worker-reports-flush"));
    private final TrainingConfig config;
    private final ExampleFeed feed;
    private final JobProgress progress;
    private final Event<JobService.JobsChanged> changed;

    public LocalWorkers(TrainingConfig config, @GrpcClient("dataset") ExampleServiceBlockingStub examples,
            ServiceAccountTokens tokens, JobProgress progress, Event<JobService.JobsChanged> changed) {
        this.config = config;
        this.feed = new ExampleFeed(examples, () -> tokens.token().await().atMost(Duration.ofSeconds(30)));
        this.progress = progress;
        this.changed = changed;
    }

    @Override
    public int count() {
        return running.size();
    }

    @Override
    public boolean runs(String jobId) {
        return running.containsKey(jobId);
    }

    @Override
    public void launch(Job job, Path baseModel) {
        Process process;
        try {
            process = start(job, baseModel);
        } catch (IOException | RuntimeException e) {
            LOG.errorf(e, "Job %s: the worker did not start", job.id());
            progress.note(job.id(), JobEvent.ERROR, "The worker could not be started: " + e.getMessage());
            progress.exited(job.id(), new JobProgress.Exit(-1, null, null, List.of(), List.of()));
            changed.fireAsync(new JobService.JobsChanged(job.id()));
            return;
        }
        Running worker = new Running(process, new AtomicBoolean());
        running.put(job.id(), worker);
        LOG.infof("Job %s: worker %d started (attempt %d)", job.id(), process.pid(), job.attempt());
        AtomicBoolean feedFailed = new AtomicBoolean();
        AtomicReference<ExampleFeed.Fed> fed = new AtomicReference<>();
        daemon("worker-feed-" + job.id(), () -> {
            try (OutputStream input = process.getOutputStream()) {
                fed.set(feed.write(ExampleFeed.Request.of(job), input));
            } catch (ExampleFeed.WorkerInputClosedException e) {
                // The worker stopped reading: it refused an example or died, and its exit tells which.
                LOG.debugf("Job %s: the worker closed its input: %s", job.id(), e.getMessage());
            } catch (IOException | RuntimeException e) {
                // The stream from the dataset-service (or the token for it) failed: the platform's fault, not the
                // examples'. The job is retried as after a crash.
                feedFailed.set(true);
                LOG.warnf(e, "Job %s: streaming the examples failed", job.id());
                progress.note(job.id(), JobEvent.WARN, "Streaming the examples from the dataset-service failed: "
                        + e.getMessage());
                process.destroyForcibly();
            }
        });
        RunReports reports = new RunReports(job.id(), progress);
        ScheduledFuture<?> flushes = flusher.scheduleWithFixedDelay(reports::flushIfDue, 250, 250,
                TimeUnit.MILLISECONDS);
        daemon("worker-reports-" + job.id(), () -> {
            try {
                follow(job, process, reports, feedFailed, fed);
            } finally {
                flushes.cancel(false);
            }
        });
        try {
            progress.workerStarted(job.id(), process.pid());
        } catch (RuntimeException e) {
            // Without its process id on record the worker could not be found after a restart: stop it now, and
            // its follower records the end like a crash's.
            LOG.errorf(e, "Job %s: the worker's process id could not be recorded; stopping it", job.id());
            process.destroyForcibly();
        }
    }

    private static void daemon(String name, Runnable work) {
        DaemonThreads.named(name).newThread(work).start();
    }

    private Process start(Job job, Path baseModel) throws IOException {
        Path output = Path.of(job.outputPath());
        Path specFile = output.resolve(SPEC_FILE);
        Files.writeString(specFile, TrainerSpecs.forJob(job, baseModel, config).toPrettyString());

        List<String> command = TrainerSpecs.command(config.worker().java().orElse(null), config.worker().maxHeap(),
                config.worker().threads(), config.worker().classpath(), specFile);
        return new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.appendTo(output.resolve(LOG_FILE).toFile()))
                .start();
    }

    private void follow(Job job, Process process, RunReports reports, AtomicBoolean feedFailed,
            AtomicReference<ExampleFeed.Fed> fed) {
        try (BufferedReader lines = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String text = lines.readLine(); text != null; text = lines.readLine()) {
                reports.line(text);
            }
        } catch (IOException e) {
            LOG.warnf(e, "Job %s: reading the worker's reports failed", job.id());
        }
        int exitCode;
        try {
            exitCode = process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        LOG.infof("Job %s: worker %d exited with %d", job.id(), process.pid(), exitCode);
        try {
            ExampleFeed.Fed records = fed.get();
            progress.exited(job.id(), reports.exit(exitCode, feedFailed.get(),
                    records == null ? List.of() : records.trainRecordHashes(),
                    records == null ? List.of() : records.validationRecordHashes()));
        } catch (RuntimeException e) {
            LOG.errorf(e, "Job %s: the worker's end could not be recorded; the scheduler reconciles it", job.id());
        } finally {
            // Only now: until its end is recorded the job counts as followed, so the scheduler leaves it alone.
            running.remove(job.id());
        }
        changed.fireAsync(new JobService.JobsChanged(job.id()));
    }

    /** SIGTERM: the worker finishes its step and saves a checkpoint; SIGKILL after the grace period. */
    @Override
    public void stop(String jobId, Duration grace) {
        Running worker = running.get(jobId);
        if (worker == null) {
            return;
        }
        if (worker.stopping().compareAndSet(false, true)) {
            LOG.infof("Job %s: stopping worker %d", jobId, worker.process().pid());
            // SIGTERM through the process handle: Process.destroy() would also close the pipe its last reports
            // (the checkpoint it saves on the way out) come through.
            worker.process().toHandle().destroy();
        }
        // Each request sets its own deadline: a cancel after a pause does not wait for the pause's.
        timer.schedule(() -> {
            if (worker.process().isAlive()) {
                LOG.warnf("Job %s: worker %d did not stop within %s; killing it", jobId, worker.process().pid(),
                        grace);
                worker.process().descendants().forEach(ProcessHandle::destroyForcibly);
                worker.process().destroyForcibly();
            }
        }, grace.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The orphan is found by its process id on record and its command line (the worker class and the job's id). */
    @Override
    public void stopOrphan(Job job) {
        if (job.workerPid() == null) {
            return;
        }
        Optional<ProcessHandle> orphan = ProcessHandle.of(job.workerPid())
                .filter(ProcessHandle::isAlive)
                .filter(handle -> handle.info()
                        .arguments()
                        .map(arguments -> List.of(arguments).contains(TrainerSpecs.WORKER_CLASS)
                                && String.join(" ", arguments).contains(job.id()))
                        .orElse(false));
        if (orphan.isEmpty()) {
            return;
        }
        LOG.warnf("Job %s: stopping the orphaned worker %d", job.id(), job.workerPid());
        orphan.get().destroy();
        try {
            orphan.get().onExit().get(config.worker().pauseGrace().toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            orphan.get().destroyForcibly();
        }
    }

    /** Stops every worker when the service stops: each saves a checkpoint, and the next start relaunches them. */
    @PreDestroy
    void stopAll() {
        running.values().forEach(worker -> worker.process().toHandle().destroy());
        timer.shutdownNow();
        flusher.shutdownNow();
    }
}
