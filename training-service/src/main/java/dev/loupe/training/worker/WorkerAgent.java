package dev.loupe.training.worker;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.StreamObserver;
import org.jboss.logging.Logger;

import dev.loupe.contracts.dataset.v1.ExampleServiceGrpc;
import dev.loupe.contracts.training.v1.GetJobSpecRequest;
import dev.loupe.contracts.training.v1.JobSpec;
import dev.loupe.contracts.training.v1.TrainerWorkerServiceGrpc;
import dev.loupe.contracts.training.v1.WorkerExit;
import dev.loupe.contracts.training.v1.WorkerInstruction;
import dev.loupe.contracts.training.v1.WorkerReport;
import dev.loupe.support.audit.ServiceAccountTokens;
import dev.loupe.support.grpc.BearerCallCredentials;

/**
 * The worker agent: what a Kubernetes executor's pod runs ({@link KubernetesWorkers}). With the trainer workers'
 * Keycloak account and the launch's worker key (both from the pod's environment, out of Kubernetes Secrets) it
 * fetches the job's spec from the training-service, starts the trainer worker as its child JVM exactly as the local
 * executor does, streams the examples into it from the dataset-service (a read the dataset-service audits for the
 * job, its tenant and the user who started it), and forwards each report line and then the exit to the
 * training-service. A stop order from the service, or SIGTERM to the pod, makes the trainer finish its step, save a
 * checkpoint (on the shared jobs volume) and exit; if the report stream breaks, the agent stops the trainer the
 * same way, and the service relaunches the job from that checkpoint. Exits with the trainer's exit code.
 *
 * <p>
 * A plain main, no Quarkus: it runs on the training-service's class path
 * ({@code java -cp 'app/*:lib/main/*' dev.loupe.training.worker.WorkerAgent}).
 */
public final class WorkerAgent {
    static final String JOB_ID = "LOUPE_JOB_ID";
    static final String ATTEMPT = "LOUPE_JOB_ATTEMPT";
    static final String WORKER_KEY = "LOUPE_WORKER_KEY";
    static final String TRAINING_ADDRESS = "LOUPE_TRAINING_ADDRESS";
    static final String DATASET_ADDRESS = "LOUPE_DATASET_ADDRESS";
    static final String GRPC_TLS = "LOUPE_GRPC_TLS";
    static final String TOKEN_URL = "LOUPE_TOKEN_URL";
    static final String CLIENT_ID = "LOUPE_WORKER_CLIENT_ID";
    static final String CLIENT_SECRET = "LOUPE_WORKER_CLIENT_SECRET";
    static final String WORKER_CLASSPATH = "LOUPE_WORKER_CLASSPATH";
    static final String WORKER_MAX_HEAP = "LOUPE_WORKER_MAX_HEAP";
    static final String WORKER_THREADS = "LOUPE_WORKER_THREADS";
    static final String WORKER_JAVA = "LOUPE_WORKER_JAVA";
    /** How long the agent waits for the trainer to save its checkpoint when the pod is stopped. */
    private static final Duration STOP_GRACE = Duration.ofMinutes(5);
    private static final Logger LOG = Logger.getLogger(WorkerAgent.class);

    private final Map<String, String> env;

    WorkerAgent(Map<String, String> env) {
        this.env = env;
    }

    public static void main(String[] args) {
        int code;
        try {
            code = new WorkerAgent(System.getenv()).run();
        } catch (RuntimeException | IOException e) {
            LOG.errorf(e, "The worker agent failed");
            code = 1;
        } catch (InterruptedException e) {
            code = 1;
        }
        System.exit(code);
    }

    private String setting(String name) {
        String value = env.get(name);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException(name + " is not set in the worker's environment");
        }
        return value;
    }

    private ManagedChannel channel(String address) {
        ManagedChannelBuilder<?> builder = ManagedChannelBuilder.forTarget(address);
        return (Boolean.parseBoolean(env.getOrDefault(GRPC_TLS, "true"))
                ? builder.useTransportSecurity()
                : builder.usePlaintext()).build();
    }

    int run() throws IOException, InterruptedException {
        String jobId = setting(JOB_ID);
        int attempt = Integer.parseInt(setting(ATTEMPT));
        String key = setting(WORKER_KEY);
        ServiceAccountTokens accounts = new ServiceAccountTokens(setting(TOKEN_URL), Optional.of(setting(CLIENT_ID)),
                Optional.of(setting(CLIENT_SECRET)), Duration.ofSeconds(10));
        Supplier<String> tokens = () -> accounts.token().await().atMost(Duration.ofSeconds(30));
        ManagedChannel training = channel(setting(TRAINING_ADDRESS));
        ManagedChannel dataset = channel(setting(DATASET_ADDRESS));
        try {
            JobSpec spec = TrainerWorkerServiceGrpc.newBlockingStub(training)
                    .withCallCredentials(new BearerCallCredentials(tokens.get(), ""))
                    .withDeadlineAfter(1, TimeUnit.MINUTES)
                    .getJobSpec(GetJobSpecRequest.newBuilder()
                            .setJobId(jobId)
                            .setAttempt(attempt)
                            .setWorkerKey(key)
                            .build());
            ExampleFeed feed = new ExampleFeed(ExampleServiceGrpc.newBlockingStub(dataset), tokens);
            return train(spec, key, feed, TrainerWorkerServiceGrpc.newStub(training)
                    .withCallCredentials(new BearerCallCredentials(tokens.get(), "")));
        } finally {
            training.shutdownNow();
            dataset.shutdownNow();
        }
    }

    private int train(JobSpec spec, String key, ExampleFeed feed,
            TrainerWorkerServiceGrpc.TrainerWorkerServiceStub service)
            throws IOException, InterruptedException {
        // The spec holds no secret, but it is this job's: owner-only, in the pod's own temporary folder.
        Path specFile = Files.createTempFile("job-spec", ".json",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(specFile, spec.getEngineSpecJson());
        ProcessBuilder command = new ProcessBuilder(trainerCommand(specFile)).redirectError(
                ProcessBuilder.Redirect.INHERIT);
        // The trainer parses pictures; it gets none of the agent's secrets (client secret, worker key).
        command.environment().keySet().removeIf(name -> name.startsWith("LOUPE_"));
        Process trainer = command.start();
        CountDownLatch reported = new CountDownLatch(1);
        Thread stopOnSigterm = new Thread(() -> stopAndWait(trainer, reported), "worker-agent-stop");
        Runtime.getRuntime().addShutdownHook(stopOnSigterm);
        LOG.infof("Job %s attempt %d: trainer worker %d started", spec.getJobId(), spec.getAttempt(), trainer.pid());

        CountDownLatch answered = new CountDownLatch(1);
        StreamObserver<WorkerReport> reports = service.report(new StreamObserver<>() {
            @Override
            public void onNext(WorkerInstruction instruction) {
                if (instruction.getKind() == WorkerInstruction.Kind.KIND_STOP) {
                    LOG.infof("Job %s: stop ordered; the trainer saves a checkpoint", spec.getJobId());
                    trainer.toHandle().destroy();
                }
            }

            @Override
            public void onError(Throwable failure) {
                // Without the service nothing the trainer does is recorded: stop it at a checkpoint.
                LOG.warnf("Job %s: the report stream broke (%s); stopping the trainer", spec.getJobId(),
                        failure.getMessage());
                trainer.toHandle().destroy();
                answered.countDown();
            }

            @Override
            public void onCompleted() {
                answered.countDown();
            }
        });
        reports.onNext(WorkerReport.newBuilder()
                .setJobId(spec.getJobId())
                .setAttempt(spec.getAttempt())
                .setWorkerKey(key)
                .build());

        AtomicBoolean feedFailed = new AtomicBoolean();
        AtomicReference<ExampleFeed.Fed> fed = new AtomicReference<>();
        Thread feeder = new Thread(() -> {
            try (OutputStream input = trainer.getOutputStream()) {
                fed.set(feed.write(new ExampleFeed.Request(spec.getJobId(), spec.getTenant(),
                        spec.getDatasetVersionId(), spec.getValidationSplit(), spec.getCreatedBy().getUserId(),
                        spec.getCreatedBy().getUsername()), input));
            } catch (ExampleFeed.WorkerInputClosedException e) {
                LOG.debugf("Job %s: the trainer closed its input: %s", spec.getJobId(), e.getMessage());
            } catch (IOException | RuntimeException e) {
                feedFailed.set(true);
                LOG.warnf(e, "Job %s: streaming the examples failed", spec.getJobId());
                trainer.destroyForcibly();
            }
        }, "worker-agent-feed");
        feeder.setDaemon(true);
        feeder.start();

        try (BufferedReader lines = new BufferedReader(
                new InputStreamReader(trainer.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                reports.onNext(WorkerReport.newBuilder().setLine(line).build());
            }
        }
        int exitCode = trainer.waitFor();
        feeder.join(Duration.ofSeconds(10).toMillis());
        ExampleFeed.Fed records = fed.get();
        WorkerExit.Builder exit = WorkerExit.newBuilder().setExitCode(exitCode).setFeedFailed(feedFailed.get());
        if (records != null) {
            exit.addAllTrainRecordHashes(records.trainRecordHashes())
                    .addAllValidationRecordHashes(records.validationRecordHashes());
        }
        reports.onNext(WorkerReport.newBuilder().setExit(exit).build());
        reports.onCompleted();
        try {
            // The service records what is queued before it closes the stream (a final checkpoint is hashed).
            if (!answered.await(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warnf("Job %s: the service did not close the report stream", spec.getJobId());
            }
        } finally {
            reported.countDown();
        }
        LOG.infof("Job %s: trainer worker exited with %d", spec.getJobId(), exitCode);
        Files.deleteIfExists(specFile);
        return exitCode;
    }

    /** The trainer worker's command, as {@link LocalWorkers} builds it, from the pod's environment. */
    private List<String> trainerCommand(Path specFile) {
        return TrainerSpecs.command(env.get(WORKER_JAVA), env.getOrDefault(WORKER_MAX_HEAP, "1g"),
                Integer.parseInt(env.getOrDefault(WORKER_THREADS, "0")), setting(WORKER_CLASSPATH), specFile);
    }

    /**
     * On SIGTERM to the pod: the trainer saves a checkpoint and exits; the agent waits for it and for its last
     * reports and exit to reach the service before the JVM halts.
     */
    private static void stopAndWait(Process trainer, CountDownLatch reported) {
        try {
            if (trainer.isAlive()) {
                trainer.toHandle().destroy();
                if (!trainer.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                    trainer.destroyForcibly();
                }
            }
            reported.await(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
