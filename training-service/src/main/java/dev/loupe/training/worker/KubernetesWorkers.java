package dev.loupe.training.worker;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Event;
import jakarta.enterprise.inject.Typed;

import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.subscription.Cancellable;
import io.smallrye.mutiny.subscription.MultiEmitter;
import org.jboss.logging.Logger;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.training.v1.GetJobSpecRequest;
import dev.loupe.contracts.training.v1.JobSpec;
import dev.loupe.contracts.training.v1.WorkerExit;
import dev.loupe.contracts.training.v1.WorkerInstruction;
import dev.loupe.contracts.training.v1.WorkerReport;
import dev.loupe.support.error.ProblemException;
import dev.loupe.training.config.TrainingConfig;
import dev.loupe.training.job.JobProgress;
import dev.loupe.training.job.JobService;
import dev.loupe.training.model.Job;

/**
 * The Kubernetes executor: each launch of a job's worker is a Kubernetes Job (restart policy Never, no retries of
 * its own: relaunches are the scheduler's, from the last checkpoint) whose pod runs {@link WorkerAgent}. The Job
 * asks for the configured GPUs, CPUs and the worker memory limit, and carries the node selector, tolerations and
 * service account; its pod mounts the shared jobs and models volumes at this service's paths.
 *
 * <p>
 * Each launch gets a worker key, a random secret in a Kubernetes Secret owned by the Job (deleted with it): the
 * agent presents it with the trainer workers' Keycloak token on {@code TrainerWorkerService}, so a worker fetches
 * the spec of, and reports for, exactly the job and attempt it was launched for. Its reports go into the job's
 * history as the local workers' do; stop orders go back on the same stream. A pod that dies without reporting its
 * end (node lost, killed for memory) is found by reading the Jobs' states every {@code poll-interval}; a worker
 * that never connects fails its launch after {@code start-timeout}.
 */
@ApplicationScoped
@Typed(KubernetesWorkers.class)
public class KubernetesWorkers implements WorkerExecutor {
    static final String JOB_ID_LABEL = "loupe.dev/fine-tuning-job";
    static final String ATTEMPT_LABEL = "loupe.dev/attempt";
    static final String COMPONENT_LABEL = "app.kubernetes.io/component";
    static final String WORKER_KEY_ENTRY = "worker-key";
    private static final Logger LOG = Logger.getLogger(KubernetesWorkers.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Exit code recorded for a worker this service ended by deleting its Job (as SIGKILL's). */
    private static final int KILLED = 137;

    /** One launch: its Job, its key's hash, its report stream once the agent connects. */
    private final class Remote {
        final Job job;
        final String name;
        final String engineSpec;
        final byte[] keyHash;
        final Instant launchedAt = Instant.now();
        final RunReports reports;
        final AtomicBoolean stopping = new AtomicBoolean();
        final AtomicBoolean ended = new AtomicBoolean();
        volatile MultiEmitter<? super WorkerInstruction> instructions;
        /** Whether the agent has connected (its stream may have broken since). */
        volatile boolean connected;
        /** Whether its Job and Secret exist: the poll leaves a launch alone until then. */
        volatile boolean created;
        /** When the Job was first seen finished without the worker's exit report. */
        volatile Instant finishedUnreported;
        volatile java.util.concurrent.ScheduledFuture<?> flushes;

        Remote(Job job, String name, String engineSpec, byte[] keyHash) {
            this.job = job;
            this.name = name;
            this.engineSpec = engineSpec;
            this.keyHash = keyHash;
            this.reports = new RunReports(job.id(), progress);
        }
    }

    private final Map<String, Remote> running = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer = Executors
            .newSingleThreadScheduledExecutor(DaemonThreads.named("kubernetes-workers"));
    /** Records waiting step reports (database work, kept off the timer's deadlines). */
    private final ScheduledExecutorService flusher = Executors
            .newSingleThreadScheduledExecutor(DaemonThreads.named("kubernetes-workers-reports"));
    /** Kills and waits that take seconds, off the timer's thread. */
    private final ExecutorService blocking = Executors
            .newCachedThreadPool(DaemonThreads.named("kubernetes-workers-kill"));
    private final KubernetesClient client;
    private final TrainingConfig config;
    private final TrainingConfig.Kubernetes settings;
    private final JobProgress progress;
    private final Event<JobService.JobsChanged> changed;
    private final String namespace;

    public KubernetesWorkers(KubernetesClient client, TrainingConfig config, JobProgress progress,
            Event<JobService.JobsChanged> changed) {
        this.client = client;
        this.config = config;
        this.settings = config.worker().kubernetes();
        this.progress = progress;
        this.changed = changed;
        this.namespace = settings.namespace()
                .orElse(client.getNamespace() != null ? client.getNamespace() : "default");
        long every = settings.pollInterval().toMillis();
        timer.scheduleWithFixedDelay(this::poll, every, every, TimeUnit.MILLISECONDS);
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
        String name = "loupe-train-" + job.id() + "-" + suffix();
        String key = Base64.getUrlEncoder().withoutPadding().encodeToString(randomBytes(32));
        Remote remote;
        try {
            remote = new Remote(job, name, TrainerSpecs.forJob(job, baseModel, config).toString(), sha256(key));
            running.put(job.id(), remote);
            remote.flushes = flusher.scheduleWithFixedDelay(remote.reports::flushIfDue, 250, 250,
                    TimeUnit.MILLISECONDS);
            var created = client.batch().v1().jobs().inNamespace(namespace).resource(kubernetesJob(job, name))
                    .create();
            client.secrets()
                    .inNamespace(namespace)
                    .resource(new SecretBuilder().withNewMetadata()
                            .withName(name)
                            .withLabels(labels(job))
                            .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("batch/v1")
                                    .withKind("Job")
                                    .withName(name)
                                    .withUid(created.getMetadata().getUid())
                                    .build())
                            .endMetadata()
                            .withType("Opaque")
                            .addToStringData(WORKER_KEY_ENTRY, key)
                            .build())
                    .create();
            remote.created = true;
        } catch (Exception e) {
            LOG.errorf(e, "Job %s: its Kubernetes Job could not be created", job.id());
            Remote failed = running.remove(job.id());
            if (failed != null && failed.flushes != null) {
                failed.flushes.cancel(false);
            }
            deleteQuietly(name);
            progress.note(job.id(), dev.loupe.training.model.JobEvent.ERROR,
                    "The worker's Kubernetes Job could not be created: " + e.getMessage());
            progress.exited(job.id(), new JobProgress.Exit(-1, null, null, List.of(), List.of()));
            changed.fireAsync(new JobService.JobsChanged(job.id()));
            return;
        }
        LOG.infof("Job %s: Kubernetes Job %s/%s created (attempt %d)", job.id(), namespace, name, job.attempt());
        progress.note(job.id(), dev.loupe.training.model.JobEvent.INFO,
                "Kubernetes Job " + name + " created; the worker reports once its pod runs");
    }

    /** The Job of one launch, as the settings describe it. */
    private io.fabric8.kubernetes.api.model.batch.v1.Job kubernetesJob(Job job, String name) {
        String image = settings.image()
                .orElseThrow(() -> new IllegalStateException("loupe.training.worker.kubernetes.image is not set"));
        Map<String, Quantity> requests = new LinkedHashMap<>();
        Map<String, Quantity> limits = new LinkedHashMap<>();
        Quantity memory = new Quantity(String.valueOf(config.worker().memoryLimit().asLongValue()));
        requests.put("memory", memory);
        limits.put("memory", memory);
        settings.cpu().ifPresent(cpu -> requests.put("cpu", new Quantity(cpu)));
        if (settings.gpus() > 0) {
            requests.put(settings.gpuResource(), new Quantity(String.valueOf(settings.gpus())));
            limits.put(settings.gpuResource(), new Quantity(String.valueOf(settings.gpus())));
        }
        List<Volume> volumes = new ArrayList<>();
        List<VolumeMount> mounts = new ArrayList<>();
        settings.jobsVolumeClaim().ifPresent(claim -> {
            volumes.add(claimVolume("jobs", claim, false));
            mounts.add(new VolumeMountBuilder().withName("jobs")
                    .withMountPath(config.jobs().root().toAbsolutePath().toString())
                    .build());
        });
        settings.modelsVolumeClaim().ifPresent(claim -> {
            volumes.add(claimVolume("models", claim, true));
            mounts.add(new VolumeMountBuilder().withName("models")
                    .withMountPath(config.modelsRoot().toAbsolutePath().toString())
                    .withReadOnly(true)
                    .build());
        });
        return new JobBuilder().withNewMetadata()
                .withName(name)
                .withLabels(labels(job))
                .endMetadata()
                .withNewSpec()
                // Relaunches are the scheduler's (from the last checkpoint, counted as attempts), never Kubernetes'.
                .withBackoffLimit(0)
                .withTtlSecondsAfterFinished((int) settings.keepFinished().toSeconds())
                .withNewTemplate()
                .withNewMetadata()
                .withLabels(labels(job))
                .endMetadata()
                .withNewSpec()
                .withRestartPolicy("Never")
                // The worker needs no Kubernetes API: no token of the service account in its pod.
                .withAutomountServiceAccountToken(false)
                .withServiceAccountName(settings.serviceAccount().orElse(null))
                .withNodeSelector(settings.nodeSelector().isEmpty() ? null : settings.nodeSelector())
                .withTolerations(tolerations(settings.tolerations().orElse(List.of())))
                // A pause waits for the step in progress and its checkpoint: the pod gets the pause's grace.
                .withTerminationGracePeriodSeconds(config.worker().pauseGrace().toSeconds())
                .addNewContainer()
                .withName("trainer")
                .withImage(image)
                .withImagePullPolicy(settings.imagePullPolicy())
                .withCommand(settings.agentCommand())
                .withEnv(environment(job, name))
                .withNewResources()
                .withRequests(requests)
                .withLimits(limits)
                .endResources()
                .withVolumeMounts(mounts)
                .endContainer()
                .withVolumes(volumes)
                .endSpec()
                .endTemplate()
                .endSpec()
                .build();
    }

    private static Volume claimVolume(String name, String claim, boolean readOnly) {
        return new VolumeBuilder().withName(name)
                .withNewPersistentVolumeClaim()
                .withClaimName(claim)
                .withReadOnly(readOnly)
                .endPersistentVolumeClaim()
                .build();
    }

    private List<EnvVar> environment(Job job, String name) {
        List<EnvVar> env = new ArrayList<>();
        env.add(value(WorkerAgent.JOB_ID, job.id()));
        env.add(value(WorkerAgent.ATTEMPT, String.valueOf(job.attempt())));
        env.add(secret(WorkerAgent.WORKER_KEY, name, WORKER_KEY_ENTRY));
        env.add(value(WorkerAgent.TRAINING_ADDRESS, required(settings.trainingAddress(), "training-address")));
        env.add(value(WorkerAgent.DATASET_ADDRESS, required(settings.datasetAddress(), "dataset-address")));
        env.add(value(WorkerAgent.GRPC_TLS, String.valueOf(settings.grpcTls())));
        env.add(value(WorkerAgent.TOKEN_URL, required(settings.tokenUrl(), "token-url")));
        env.add(secret(WorkerAgent.CLIENT_ID, settings.credentialsSecret(), "client-id"));
        env.add(secret(WorkerAgent.CLIENT_SECRET, settings.credentialsSecret(), "client-secret"));
        env.add(value(WorkerAgent.WORKER_CLASSPATH, config.worker().classpath()));
        env.add(value(WorkerAgent.WORKER_MAX_HEAP, config.worker().maxHeap()));
        env.add(value(WorkerAgent.WORKER_THREADS, String.valueOf(config.worker().threads())));
        config.worker().java().ifPresent(java -> env.add(value(WorkerAgent.WORKER_JAVA, java)));
        return env;
    }

    private static String required(java.util.Optional<String> setting, String name) {
        return setting.orElseThrow(
                () -> new IllegalStateException("loupe.training.worker.kubernetes." + name + " is not set"));
    }

    private static EnvVar value(String name, String value) {
        return new EnvVarBuilder().withName(name).withValue(value).build();
    }

    private static EnvVar secret(String name, String secret, String key) {
        return new EnvVarBuilder().withName(name)
                .withNewValueFrom()
                .withNewSecretKeyRef()
                .withName(secret)
                .withKey(key)
                .endSecretKeyRef()
                .endValueFrom()
                .build();
    }

    private static Map<String, String> labels(Job job) {
        return Map.of(JOB_ID_LABEL, job.id(), ATTEMPT_LABEL, String.valueOf(job.attempt()), COMPONENT_LABEL,
                "trainer-worker");
    }

    /** Tolerations from kubectl's taint syntax: {@code key=value:Effect} or {@code key:Effect}. */
    static List<Toleration> tolerations(List<String> specs) {
        List<Toleration> tolerations = new ArrayList<>();
        for (String spec : specs) {
            int colon = spec.lastIndexOf(':');
            if (colon <= 0 || colon == spec.length() - 1) {
                throw new IllegalStateException("loupe.training.worker.kubernetes.tolerations: \"" + spec
                        + "\" is not key=value:Effect or key:Effect");
            }
            String taint = spec.substring(0, colon);
            String effect = spec.substring(colon + 1);
            int equals = taint.indexOf('=');
            TolerationBuilder toleration = new TolerationBuilder().withEffect(effect);
            if (equals < 0) {
                toleration.withKey(taint).withOperator("Exists");
            } else {
                toleration.withKey(taint.substring(0, equals))
                        .withOperator("Equal")
                        .withValue(taint.substring(equals + 1));
            }
            tolerations.add(toleration.build());
        }
        return tolerations;
    }

    /**
     * The launch a worker's request belongs to.
     *
     * @throws ProblemException NOT_FOUND unless the job runs that attempt under that key (one answer for every
     *         mismatch, so a caller learns nothing about other jobs)
     */
    private Remote authenticate(String jobId, int attempt, String key) {
        Remote remote = running.get(jobId);
        if (remote == null || remote.ended.get() || remote.job.attempt() != attempt
                || !MessageDigest.isEqual(remote.keyHash, sha256(key))) {
            throw ProblemException.notFound("job", jobId);
        }
        return remote;
    }

    /** {@code TrainerWorkerService.GetJobSpec}. */
    public JobSpec spec(GetJobSpecRequest request) {
        Remote remote = authenticate(request.getJobId(), request.getAttempt(), request.getWorkerKey());
        Job job = remote.job;
        return JobSpec.newBuilder()
                .setJobId(job.id())
                .setAttempt(job.attempt())
                .setTenant(job.tenant())
                .setCreatedBy(Actor.newBuilder().setUserId(job.createdByUserId()).setUsername(job.createdByUsername()))
                .setDatasetVersionId(job.datasetVersionId())
                .setValidationSplit(job.validationSplit())
                .setEngineSpecJson(remote.engineSpec)
                .build();
    }

    /**
     * {@code TrainerWorkerService.Report}: the first report names the launch; each line goes into the job's
     * history, the exit ends the run. Stop orders go back on the returned stream. The reports are recorded on a
     * worker thread (they write to the database), in order.
     */
    public Multi<WorkerInstruction> connect(Multi<WorkerReport> reports) {
        return Multi.createFrom().emitter(emitter -> {
            // One thread per stream records its reports in order (they write to the database, off the event loop);
            // the stream's end and failure queue behind them, so an exit report is never overtaken or dropped.
            ExecutorService recorder = Executors.newSingleThreadExecutor(DaemonThreads.named("worker-reports"));
            Remote[] connected = new Remote[1];
            Cancellable subscription = reports.subscribe().with(report -> record(recorder, () -> {
                try {
                    if (connected[0] == null) {
                        connected[0] = authenticate(report.getJobId(), report.getAttempt(), report.getWorkerKey());
                        attach(connected[0], emitter);
                    }
                    receive(connected[0], report, emitter);
                } catch (RuntimeException e) {
                    emitter.fail(e);
                }
            }), failure -> record(recorder, () -> {
                // The stream broke (network, the pod died): the Job's state tells the end at the next poll.
                if (connected[0] != null) {
                    LOG.warnf("Job %s: the worker's report stream broke: %s", connected[0].job.id(),
                            failure.getMessage());
                    connected[0].instructions = null;
                }
                emitter.complete();
            }), () -> record(recorder, emitter::complete));
            emitter.onTermination(() -> {
                subscription.cancel();
                // The reports already queued are still recorded; the thread ends after them.
                recorder.shutdown();
            });
        });
    }

    private static void record(ExecutorService recorder, Runnable work) {
        try {
            recorder.execute(work);
        } catch (RejectedExecutionException e) {
            // The stream has ended: nothing more is recorded from it.
        }
    }

    private void attach(Remote remote, MultiEmitter<? super WorkerInstruction> emitter) {
        remote.instructions = emitter;
        remote.connected = true;
        LOG.infof("Job %s: the worker of Kubernetes Job %s connected", remote.job.id(), remote.name);
        if (remote.stopping.get()) {
            // Stopped before it connected: it stops at once.
            emitter.emit(WorkerInstruction.newBuilder().setKind(WorkerInstruction.Kind.KIND_STOP).build());
        }
    }

    private void receive(Remote remote, WorkerReport report, MultiEmitter<? super WorkerInstruction> emitter) {
        if (remote.ended.get()) {
            // Its end is recorded (a stop's deadline passed): a late report must not change the job.
            emitter.complete();
            return;
        }
        switch (report.getReportCase()) {
            case LINE -> remote.reports.line(report.getLine());
            case EXIT -> {
                WorkerExit exit = report.getExit();
                LOG.infof("Job %s: the worker of Kubernetes Job %s exited with %d", remote.job.id(), remote.name,
                        exit.getExitCode());
                end(remote, remote.reports.exit(exit.getExitCode(), exit.getFeedFailed(),
                        List.copyOf(exit.getTrainRecordHashesList()),
                        List.copyOf(exit.getValidationRecordHashesList())));
                emitter.complete();
            }
            default -> {
                // The first message may name the launch only.
            }
        }
    }

    /** Records a launch's end once, whoever sees it first (the exit report, the poll, a stop's deadline). */
    private void end(Remote remote, JobProgress.Exit exit) {
        if (!remote.ended.compareAndSet(false, true)) {
            return;
        }
        if (remote.flushes != null) {
            remote.flushes.cancel(false);
        }
        try {
            progress.exited(remote.job.id(), exit);
        } catch (RuntimeException e) {
            LOG.errorf(e, "Job %s: the worker's end could not be recorded; the scheduler reconciles it",
                    remote.job.id());
        } finally {
            running.remove(remote.job.id(), remote);
        }
        changed.fireAsync(new JobService.JobsChanged(remote.job.id()));
    }

    /** A stop order on the report stream; the Job is deleted if the worker has not ended after the grace period. */
    @Override
    public void stop(String jobId, Duration grace) {
        Remote remote = running.get(jobId);
        if (remote == null) {
            return;
        }
        if (remote.stopping.compareAndSet(false, true)) {
            LOG.infof("Job %s: stopping the worker of Kubernetes Job %s", jobId, remote.name);
            MultiEmitter<? super WorkerInstruction> instructions = remote.instructions;
            if (instructions != null) {
                instructions.emit(WorkerInstruction.newBuilder().setKind(WorkerInstruction.Kind.KIND_STOP).build());
            }
        }
        timer.schedule(() -> {
            if (!remote.ended.get()) {
                LOG.warnf("Job %s: the worker did not stop within %s; deleting Kubernetes Job %s", jobId, grace,
                        remote.name);
                blocking.execute(() -> {
                    // Its end is recorded only once its pod is gone: nothing may write to the job's folder after.
                    killNow(remote);
                    end(remote, remote.reports.exit(KILLED, false, List.of(), List.of()));
                });
            }
        }, grace.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Deletes a launch's Job with no grace period (its pod is killed) and waits until its pod is gone. */
    private void killNow(Remote remote) {
        if (deleteJob(remote.name, true)) {
            awaitPodsGone(remote.job.id(), Duration.ofSeconds(30));
        }
    }

    /** Waits until no pod of the fine-tuning job is left, or the time is up. */
    private void awaitPodsGone(String jobId, Duration timeout) {
        Instant deadline = Instant.now().plus(timeout);
        try {
            while (Instant.now().isBefore(deadline) && !client.pods()
                    .inNamespace(namespace)
                    .withLabel(JOB_ID_LABEL, jobId)
                    .list()
                    .getItems()
                    .isEmpty()) {
                Thread.sleep(500);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Deletes the job's Kubernetes Jobs (their pods get SIGTERM and save a checkpoint) and waits for the pods. */
    @Override
    public void stopOrphan(Job job) {
        try {
            var orphans = client.batch().v1().jobs().inNamespace(namespace).withLabel(JOB_ID_LABEL, job.id());
            if (orphans.list().getItems().isEmpty()) {
                return;
            }
            LOG.warnf("Job %s: deleting its orphaned Kubernetes Jobs", job.id());
            orphans.withPropagationPolicy(io.fabric8.kubernetes.api.model.DeletionPropagation.BACKGROUND).delete();
            // The relaunch writes to the same folder: wait until the old pod has saved its checkpoint and gone.
            awaitPodsGone(job.id(), config.worker().pauseGrace().plusSeconds(10));
        } catch (KubernetesClientException e) {
            LOG.warnf(e, "Job %s: its orphaned Kubernetes Jobs could not be deleted", job.id());
        }
    }

    /**
     * Finds the ends no report told: a Job that finished (or vanished) while its worker's exit report did not
     * arrive within one more interval, and a worker that never connected within the start timeout.
     */
    private void poll() {
        for (Remote remote : running.values()) {
            try {
                if (remote.ended.get() || !remote.created) {
                    continue;
                }
                var kubernetesJob = client.batch().v1().jobs().inNamespace(namespace).withName(remote.name).get();
                JobStatus status = kubernetesJob == null ? null : kubernetesJob.getStatus();
                boolean finished = kubernetesJob == null || status != null
                        && (positive(status.getFailed()) || positive(status.getSucceeded()));
                if (!finished) {
                    remote.finishedUnreported = null;
                }
                if (finished) {
                    if (remote.finishedUnreported == null) {
                        remote.finishedUnreported = Instant.now();
                    } else {
                        LOG.warnf("Job %s: Kubernetes Job %s ended without the worker's exit report", remote.job.id(),
                                remote.name);
                        progress.note(remote.job.id(), dev.loupe.training.model.JobEvent.WARN,
                                "The worker's pod ended without reporting (killed, evicted or its node lost)");
                        // The Job stays (for its pod's log) until Kubernetes removes it after keep-finished.
                        end(remote, remote.reports.exit(-1, false, List.of(), List.of()));
                    }
                } else if (!remote.connected
                        && Instant.now().isAfter(remote.launchedAt.plus(settings.startTimeout()))) {
                    progress.note(remote.job.id(), dev.loupe.training.model.JobEvent.ERROR,
                            "The worker did not connect within " + settings.startTimeout() + " of its launch: check"
                                    + " Kubernetes Job " + remote.name + " (image, GPU nodes, node selector,"
                                    + " tolerations)");
                    deleteQuietly(remote.name);
                    end(remote, remote.reports.exit(-1, false, List.of(), List.of()));
                }
            } catch (RuntimeException e) {
                LOG.warnf(e, "Job %s: reading Kubernetes Job %s failed", remote.job.id(), remote.name);
            }
        }
    }

    private static boolean positive(Integer count) {
        return count != null && count > 0;
    }

    private void deleteQuietly(String name) {
        deleteJob(name, false);
    }

    /**
     * Deletes a launch's Job (and so its pod and its worker key's Secret); a failure is logged.
     *
     * @param withoutGrace kill the pod at once instead of giving it its termination grace period
     * @return whether the request was made
     */
    private boolean deleteJob(String name, boolean withoutGrace) {
        try {
            var job = client.batch()
                    .v1()
                    .jobs()
                    .inNamespace(namespace)
                    .withName(name)
                    .withPropagationPolicy(io.fabric8.kubernetes.api.model.DeletionPropagation.BACKGROUND);
            (withoutGrace ? job.withGracePeriod(0) : job).delete();
            return true;
        } catch (KubernetesClientException e) {
            LOG.warnf(e, "Kubernetes Job %s could not be deleted", name);
            return false;
        }
    }

    @PreDestroy
    void close() {
        timer.shutdownNow();
        flusher.shutdownNow();
        blocking.shutdownNow();
    }

    private static String suffix() {
        String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder suffix = new StringBuilder();
        for (int i = 0; i < 5; i++) {
            suffix.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
        }
        return suffix.toString();
    }

    private static byte[] randomBytes(int count) {
        byte[] bytes = new byte[count];
        RANDOM.nextBytes(bytes);
        return bytes;
    }

    private static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
