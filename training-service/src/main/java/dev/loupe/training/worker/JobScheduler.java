package dev.loupe.training.worker;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.event.ObservesAsync;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import org.jboss.logging.Logger;

import dev.loupe.training.config.TrainingConfig;
import dev.loupe.training.job.JobProgress;
import dev.loupe.training.job.JobService;
import dev.loupe.training.model.Job;
import dev.loupe.training.model.JobStatus;
import dev.loupe.training.repository.JobRepository;

/**
 * The queue: on every tick (every {@code loupe.training.jobs.schedule-interval}, and right after a job was
 * created, changed or ended) it stops the workers of jobs a user cancelled or paused, then fills the node's free
 * worker slots from the queued jobs. Fair share first: the next job comes from the tenant with the fewest running
 * jobs (and never from one at its {@code max-running-per-tenant}); within that, higher priority, then older.
 *
 * <p>
 * Each tick first reconciles: a job that has a worker on record that this service does not follow (after a
 * restart, those of the previous run) is queued again (or ends, if a cancel was under way) after its orphaned
 * worker process, if still alive, is stopped; nothing stays {@code running} without a worker.
 */
@ApplicationScoped
public class JobScheduler {
    private static final Logger LOG = Logger.getLogger(JobScheduler.class);
    private static final List<String> WITH_WORKER = List.of(JobStatus.VALIDATING_FILES.dbName,
            JobStatus.RUNNING.dbName);

    private final JobRepository jobs;
    private final JobProgress progress;
    private final WorkerExecutor workers;
    private final TrainingConfig config;
    private final ScheduledExecutorService ticker = Executors
            .newSingleThreadScheduledExecutor(DaemonThreads.named("job-scheduler"));

    public JobScheduler(JobRepository jobs, JobProgress progress, WorkerExecutor workers, TrainingConfig config) {
        this.jobs = jobs;
        this.progress = progress;
        this.workers = workers;
        this.config = config;
    }

    void onStart(@Observes StartupEvent event) throws Exception {
        Files.createDirectories(config.jobs().root());
        long every = config.jobs().scheduleInterval().toMillis();
        ticker.scheduleWithFixedDelay(this::tick, 0, every, TimeUnit.MILLISECONDS);
    }

    void onStop(@Observes ShutdownEvent event) {
        ticker.shutdownNow();
    }

    void onChanged(@ObservesAsync JobService.JobsChanged change) {
        if (!ticker.isShutdown()) {
            ticker.execute(this::tick);
        }
    }

    /**
     * Reconciles the jobs that have a worker on record but none this service follows: at the first tick after a
     * restart, those of the previous run; later, a job whose worker's end could not be recorded. Assumes one
     * training-service per database, like the local executor itself.
     */
    private void reconcile(List<Job> active) {
        for (Job job : active) {
            if (workers.runs(job.id())) {
                continue;
            }
            workers.stopOrphan(job);
            Job now = progress.reconcile(job.id());
            LOG.infof("Job %s had a worker this service does not follow: now %s", job.id(), now.status().dbName);
        }
    }

    /**
     * The queued job to launch next: from the tenant with the fewest running jobs, among tenants below their limit
     * (fair share); within it, the highest priority, then the oldest (ids sort by creation). Empty when every
     * queued job's tenant is at its limit.
     */
    static Optional<Job> next(List<Job> queued, Map<String, Integer> runningPerTenant, int maxRunningPerTenant) {
        return queued.stream()
                .filter(job -> runningPerTenant.getOrDefault(job.tenant(), 0) < maxRunningPerTenant)
                .min(Comparator.<Job>comparingInt(job -> runningPerTenant.getOrDefault(job.tenant(), 0))
                        .thenComparing(Comparator.comparingInt(Job::priority).reversed())
                        .thenComparing(Job::id));
    }

    /** One look at the queue. Runs on the scheduler's thread only. */
    void tick() {
        try {
            List<Job> withWorker = jobs.inStates(WITH_WORKER).await().atMost(Duration.ofSeconds(30));
            reconcile(withWorker);
            List<Job> active = withWorker.stream().filter(job -> workers.runs(job.id())).toList();
            for (Job job : active) {
                if (job.stopRequested() != null) {
                    workers.stop(job.id(), job.stopRequested().equals("cancel")
                            ? config.worker().cancelGrace()
                            : config.worker().pauseGrace());
                }
            }
            int free = config.jobs().slots() - workers.count();
            if (free <= 0) {
                return;
            }
            Map<String, Integer> runningPerTenant = new HashMap<>();
            active.forEach(job -> runningPerTenant.merge(job.tenant(), 1, Integer::sum));
            List<Job> queued = new ArrayList<>(
                    jobs.inStates(List.of(JobStatus.QUEUED.dbName)).await().atMost(Duration.ofSeconds(30)));
            while (free > 0) {
                Optional<Job> next = next(queued, runningPerTenant, config.jobs().maxRunningPerTenant());
                if (next.isEmpty()) {
                    return;
                }
                queued.remove(next.get());
                // Everything that can fail before the launch happens before the claim, which commits the job as
                // having a worker.
                Path base = jobs.baseModelFolder(next.get().baseModelId()).await().atMost(Duration.ofSeconds(30));
                Optional<Job> claimed = progress.claim(next.get().id());
                if (claimed.isEmpty()) {
                    continue;
                }
                workers.launch(claimed.get(), base);
                runningPerTenant.merge(claimed.get().tenant(), 1, Integer::sum);
                free--;
            }
        } catch (RuntimeException e) {
            if (!ticker.isShutdown()) {
                LOG.error("The job scheduler's tick failed; the next one tries again", e);
            }
        }
    }
}
