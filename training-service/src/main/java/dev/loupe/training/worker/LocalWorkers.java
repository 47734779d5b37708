package dev.loupe.training.worker;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Event;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jboss.logging.Logger;

import dev.loupe.training.config.TrainingConfig;
import dev.loupe.training.job.JobProgress;
import dev.loupe.training.job.JobService;
import dev.loupe.training.model.Job;
import dev.loupe.training.model.JobEvent;
import dev.loupe.training.modelstore.PrivateFolders;

/**
 * The local executor: each job's trainer worker runs as a child JVM on this node ({@code TrainerWorker} of the
 * vlm-engine, with its own heap limit and DJL offline), never in this service's JVM. For each worker three
 * threads: one streams the examples into its standard input ({@link ExampleFeed}), one reads its reports from
 * standard output into the job's history ({@link JobProgress}), and that one, at the end of the output, waits for
 * the exit and records what follows. Standard error goes to {@code worker.log} in the job's folder.
 */
@ApplicationScoped
public class LocalWorkers {
    static final String SPEC_FILE = "job-spec.json";
    static final String LOG_FILE = "worker.log";
    private static final String WORKER_CLASS = "dev.loupe.engine.worker.TrainerWorker";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = Logger.getLogger(LocalWorkers.class);

    /** A worker process and whether it has been told to stop. */
    private record Running(Process process, AtomicBoolean stopping) {
    }

    private final Map<String, Running> running = new ConcurrentHashMap<>();
    private final ScheduledExecutorService killer = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "worker-killer");
        thread.setDaemon(true);
        return thread;
    });
    private final TrainingConfig config;
    private final ExampleFeed feed;
    private final JobProgress progress;
    private final Event<JobService.JobsChanged> changed;

    public LocalWorkers(TrainingConfig config, ExampleFeed feed, JobProgress progress,
            Event<JobService.JobsChanged> changed) {
        this.config = config;
        this.feed = feed;
        this.progress = progress;
        this.changed = changed;
    }

    /** Workers running now. */
    public int count() {
        return running.size();
    }

    public boolean runs(String jobId) {
        return running.containsKey(jobId);
    }

    /**
     * Starts the worker of a claimed job. A failure to start is recorded as the worker's exit, so the job is
     * retried or fails like after a crash.
     */
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
                fed.set(feed.write(job, input));
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
        daemon("worker-reports-" + job.id(), () -> follow(job, process, feedFailed, fed));
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
        Thread thread = new Thread(work, name);
        thread.setDaemon(true);
        thread.start();
    }

    private Process start(Job job, Path baseModel) throws IOException {
        Path output = PrivateFolders.create(Path.of(job.outputPath()));
        ObjectNode spec = JSON.createObjectNode()
                .put("job_id", job.id())
                .put("base_model", baseModel.toString())
                .put("output", output.toString())
                .put("examples_on_stdin", true)
                .put("seed", job.seed());
        spec.set("method", JSON.valueToTree(job.method()));
        spec.set("hyperparameters", JSON.valueToTree(job.hyperparameters()));
        if (config.worker().checkpointEverySteps() > 0) {
            spec.put("checkpoint_every_steps", config.worker().checkpointEverySteps());
        }
        Path specFile = output.resolve(SPEC_FILE);
        Files.writeString(specFile, spec.toPrettyString());

        List<String> command = new ArrayList<>();
        command.add(config.worker().java().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.add("-Xmx" + config.worker().maxHeap());
        command.add("-Dai.djl.offline=true");
        if (config.worker().threads() > 0) {
            command.add("-Dai.djl.pytorch.num_threads=" + config.worker().threads());
            command.add("-Dai.djl.pytorch.num_interop_threads=1");
            command.add("-XX:ActiveProcessorCount=" + config.worker().threads());
        }
        command.add("-cp");
        command.add(config.worker().classpath());
        command.add(WORKER_CLASS);
        command.add(specFile.toString());
        return new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.appendTo(output.resolve(LOG_FILE).toFile()))
                .start();
    }

    private void follow(Job job, Process process, AtomicBoolean feedFailed, AtomicReference<ExampleFeed.Fed> fed) {
        String failedReason = null;
        String artifact = null;
        try (BufferedReader reports = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String text = reports.readLine(); text != null; text = reports.readLine()) {
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
                    progress.report(job.id(), line);
                } catch (IOException | RuntimeException e) {
                    LOG.warnf(e, "Job %s: a report line could not be recorded: %s", job.id(), text);
                }
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
            // A feed that broke off is the platform's fault, not the examples': the job is retried as after a crash.
            ExampleFeed.Fed records = fed.get();
            progress.exited(job.id(), new JobProgress.Exit(exitCode, feedFailed.get() ? null : failedReason,
                    artifact, records == null ? List.of() : records.trainRecordHashes(),
                    records == null ? List.of() : records.validationRecordHashes()));
        } catch (RuntimeException e) {
            LOG.errorf(e, "Job %s: the worker's end could not be recorded; the scheduler reconciles it", job.id());
        } finally {
            // Only now: until its end is recorded the job counts as followed, so the scheduler leaves it alone.
            running.remove(job.id());
        }
        changed.fireAsync(new JobService.JobsChanged(job.id()));
    }

    /**
     * Tells a job's worker to stop (SIGTERM: it finishes its step and saves a checkpoint) and kills it if it has
     * not exited after the grace period. Returns at once.
     */
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
        killer.schedule(() -> {
            if (worker.process().isAlive()) {
                LOG.warnf("Job %s: worker %d did not stop within %s; killing it", jobId, worker.process().pid(),
                        grace);
                worker.process().descendants().forEach(ProcessHandle::destroyForcibly);
                worker.process().destroyForcibly();
            }
        }, grace.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Stops every worker when the service stops: each saves a checkpoint, and the next start relaunches them. */
    @PreDestroy
    void stopAll() {
        running.values().forEach(worker -> worker.process().toHandle().destroy());
        killer.shutdownNow();
    }
}
