package dev.loupe.training;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.dataset.v1.Split;
import dev.loupe.contracts.dataset.v1.StreamExamplesRequest;
import dev.loupe.contracts.training.v1.FineTuningJob;
import dev.loupe.contracts.training.v1.GetJobSpecRequest;
import dev.loupe.contracts.training.v1.GetModelVersionRequest;
import dev.loupe.contracts.training.v1.Hyperparameters;
import dev.loupe.contracts.training.v1.JobActionRequest;
import dev.loupe.contracts.training.v1.JobEvent;
import dev.loupe.contracts.training.v1.JobState;
import dev.loupe.contracts.training.v1.ModelVersion;
import dev.loupe.contracts.training.v1.TrainerWorkerServiceGrpc;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.support.testing.KeycloakTokens;
import dev.loupe.training.worker.KubernetesWorkers;

import static dev.loupe.support.testing.GrpcAuthenticationContract.assertFailsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Kubernetes executor against fabric8's in-memory API server ({@link TestKubernetes}): no cluster runs beside
 * the tests, so a stand-in kubelet runs each Job's container command (the worker agent) as a local process with the
 * Job's environment. Everything past the API server is real: the agent takes a Keycloak token of the trainer
 * workers' account, fetches its spec and reports over gRPC with its launch's worker key, streams the examples from
 * the (stand-in) dataset-service and runs a real trainer worker on the tiny base.
 */
@QuarkusTest
@TestProfile(KubernetesExecutorTest.OnKubernetes.class)
class KubernetesExecutorTest {

    /** The executor set up as an operator would for a GPU pool, the agent command pointing at this build. */
    public static class OnKubernetes implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            return Map.ofEntries(Map.entry("loupe.training.worker.executor", "kubernetes"),
                    Map.entry("loupe.training.worker.kubernetes.image", "registry.example/loupe/trainer-worker:test"),
                    Map.entry("loupe.training.worker.kubernetes.agent-command",
                            java + ",-Xmx256m,-cp," + System.getProperty("java.class.path")
                                    + ",dev.loupe.training.worker.WorkerAgent"),
                    Map.entry("loupe.training.worker.kubernetes.gpus", "1"),
                    Map.entry("loupe.training.worker.kubernetes.cpu", "2"),
                    Map.entry("loupe.training.worker.kubernetes.node-selector.\"loupe.dev/pool\"", "gpu"),
                    Map.entry("loupe.training.worker.kubernetes.tolerations",
                            "nvidia.com/gpu:NoSchedule,dedicated=training:NoExecute"),
                    Map.entry("loupe.training.worker.kubernetes.service-account", "loupe-trainer"),
                    Map.entry("loupe.training.worker.kubernetes.jobs-volume-claim", "loupe-training-jobs"),
                    Map.entry("loupe.training.worker.kubernetes.models-volume-claim", "loupe-models"),
                    Map.entry("loupe.training.worker.kubernetes.training-address", "localhost:18082"),
                    Map.entry("loupe.training.worker.kubernetes.dataset-address", "localhost:18082"),
                    Map.entry("loupe.training.worker.kubernetes.grpc-tls", "false"),
                    Map.entry("loupe.training.worker.kubernetes.token-url",
                            KeycloakTokens.REALM_URL + "/protocol/openid-connect/token"),
                    Map.entry("loupe.training.worker.kubernetes.poll-interval", "500MS"),
                    Map.entry("loupe.training.worker.checkpoint-every-steps", "4"));
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(TestKubernetes.class));
        }
    }

    @Inject
    KubernetesWorkers workers;

    private ManagedChannel channel;

    @BeforeEach
    void openChannel() {
        channel = TestClients.channel();
    }

    @AfterEach
    void closeChannel() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    @Test
    void aJobTrainsInAKubernetesJobThatReportsOverGrpc() throws Exception {
        FineTuningJob created = TestClients.as(channel, FineTuningJobTest.LEAD)
                .createJob(FineTuningJobTest.loraJob(FineTuningJobTest.TRAIN_VERSION).build())
                .getJob();

        FineTuningJob done = TestClients.awaitJob(channel, created.getId(), Duration.ofMinutes(4),
                job -> job.getState() == JobState.JOB_STATE_SUCCEEDED);
        List<JobEvent> events = TestClients.allEvents(channel, created.getId());
        assertEquals(24, done.getTrainedSteps());
        assertEquals(1, done.getAttempt());
        assertTrue(done.getEvaluationOrThrow("loss") < done.getBaseEvaluationOrThrow("loss") / 2);
        assertTrue(events.stream().anyMatch(e -> e.getMessage().startsWith("Kubernetes Job loupe-train-")),
                TestClients.messages(events));
        assertEquals(24, events.stream().filter(e -> e.getMessage().startsWith("Step ")).count());

        // The Job as the executor created it: one try (relaunches are the scheduler's), the GPU pool's settings.
        List<Job> launches = TestKubernetes.jobsOf(created.getId());
        assertEquals(1, launches.size());
        Job launch = launches.get(0);
        assertEquals(0, launch.getSpec().getBackoffLimit());
        PodSpec pod = launch.getSpec().getTemplate().getSpec();
        assertEquals("Never", pod.getRestartPolicy());
        assertEquals("loupe-trainer", pod.getServiceAccountName());
        assertEquals(Map.of("loupe.dev/pool", "gpu"), pod.getNodeSelector());
        List<Toleration> tolerations = pod.getTolerations();
        assertEquals("nvidia.com/gpu", tolerations.get(0).getKey());
        assertEquals("Exists", tolerations.get(0).getOperator());
        assertEquals("NoSchedule", tolerations.get(0).getEffect());
        assertEquals("Equal", tolerations.get(1).getOperator());
        assertEquals("training", tolerations.get(1).getValue());
        Container container = pod.getContainers().get(0);
        assertEquals("registry.example/loupe/trainer-worker:test", container.getImage());
        assertEquals(new Quantity("1"), container.getResources().getLimits().get("nvidia.com/gpu"));
        assertEquals(new Quantity(String.valueOf(2L << 30)), container.getResources().getLimits().get("memory"));
        assertEquals(new Quantity("2"), container.getResources().getRequests().get("cpu"));
        assertEquals(List.of("loupe-training-jobs", "loupe-models"), pod.getVolumes()
                .stream()
                .map(volume -> volume.getPersistentVolumeClaim().getClaimName())
                .toList());
        assertEquals(Path.of("target/test-jobs").toAbsolutePath().toString(),
                container.getVolumeMounts().get(0).getMountPath());
        assertTrue(container.getVolumeMounts().get(1).getReadOnly());
        // Secrets reach the pod by reference only: the worker key in the launch's own Secret, owned by the Job.
        Map<String, EnvVar> env = new java.util.HashMap<>();
        container.getEnv().forEach(variable -> env.put(variable.getName(), variable));
        String name = launch.getMetadata().getName();
        assertEquals(name, env.get("LOUPE_WORKER_KEY").getValueFrom().getSecretKeyRef().getName());
        assertEquals("loupe-trainer-worker",
                env.get("LOUPE_WORKER_CLIENT_SECRET").getValueFrom().getSecretKeyRef().getName());
        assertTrue(container.getEnv().stream().allMatch(variable -> variable.getValueFrom() != null
                || !variable.getValue().equals(TestKubernetes.PODS.get(name).env().get("LOUPE_WORKER_KEY"))));
        Secret key = TestKubernetes.client.secrets().inNamespace(TestKubernetes.NAMESPACE).withName(name).get();
        assertEquals(launch.getMetadata().getUid(), key.getMetadata().getOwnerReferences().get(0).getUid());

        // The pod read both splits with the trainer workers' account, naming the job, its tenant and its user.
        List<StreamExamplesRequest> reads = TestExampleService.REQUESTS.stream()
                .filter(read -> read.getJobId().equals(created.getId()))
                .toList();
        assertEquals(List.of(Split.SPLIT_TRAIN, Split.SPLIT_VALIDATION),
                reads.stream().map(StreamExamplesRequest::getSplit).toList());
        assertEquals(FineTuningJobTest.LEAD, reads.get(0).getOnBehalfOf().getUsername());
        assertTrue(TestExampleService.CALLERS.contains("loupe-trainer-worker"));

        // The lineage came back with the worker's exit: the records it was fed.
        ModelVersion version = TestClients.as(channel, "acme-compliance")
                .getModelVersion(GetModelVersionRequest.newBuilder()
                        .setModelVersionId(done.getResultModelVersionId())
                        .build());
        assertEquals(48, version.getLineage().getTrainedRecordCount());
        assertEquals(16, version.getLineage().getValidationRecordCount());
        assertEquals(0, TestKubernetes.PODS.get(name).process().onExit().get(60, TimeUnit.SECONDS).exitValue());
        assertEquals(0, workers.count());
    }

    @Test
    void onlyTheLaunchsWorkerKeyOpensItsSpec() throws Exception {
        FineTuningJob job = TestClients.as(channel, FineTuningJobTest.ENGINEER)
                .createJob(longJob())
                .getJob();
        TestClients.awaitJob(channel, job.getId(), Duration.ofMinutes(2), j -> j.getTrainedSteps() >= 1);
        String name = TestKubernetes.jobsOf(job.getId()).get(0).getMetadata().getName();
        String key = TestKubernetes.PODS.get(name).env().get("LOUPE_WORKER_KEY");
        var asWorker = TrainerWorkerServiceGrpc.newBlockingStub(channel)
                .withCallCredentials(
                        new BearerCallCredentials(KeycloakTokens.serviceToken("loupe-trainer-worker"), null));
        GetJobSpecRequest right = GetJobSpecRequest.newBuilder()
                .setJobId(job.getId())
                .setAttempt(1)
                .setWorkerKey(key)
                .build();
        try {
            assertEquals("acme", asWorker.getJobSpec(right).getTenant());
            // Another key, another attempt, another job: all answer the same NOT_FOUND.
            assertFailsWith(Status.Code.NOT_FOUND,
                    () -> asWorker.getJobSpec(right.toBuilder().setWorkerKey(key + "x").build()));
            assertFailsWith(Status.Code.NOT_FOUND, () -> asWorker.getJobSpec(right.toBuilder().setAttempt(2).build()));
            assertFailsWith(Status.Code.NOT_FOUND,
                    () -> asWorker.getJobSpec(right.toBuilder().setJobId(FineTuningJobTest.TRAIN_VERSION).build()));
            // Neither a Loupe service's account nor a user may call the workers' service, even with the key.
            for (String token : List.of(KeycloakTokens.serviceToken("loupe-training-service"),
                    KeycloakTokens.accessToken(FineTuningJobTest.ENGINEER))) {
                assertFailsWith(Status.Code.PERMISSION_DENIED, () -> TrainerWorkerServiceGrpc.newBlockingStub(channel)
                        .withCallCredentials(new BearerCallCredentials(token, null))
                        .getJobSpec(right));
            }
        } finally {
            TestClients.as(channel, FineTuningJobTest.ENGINEER)
                    .cancelJob(JobActionRequest.newBuilder().setJobId(job.getId()).build());
            TestClients.awaitJob(channel, job.getId(), Duration.ofMinutes(1),
                    j -> j.getState() == JobState.JOB_STATE_CANCELLED);
        }
    }

    @Test
    void aCancelEndsThePodsWorkerWithinSeconds() throws Exception {
        FineTuningJob job = TestClients.as(channel, FineTuningJobTest.ENGINEER)
                .createJob(longJob())
                .getJob();
        TestClients.awaitJob(channel, job.getId(), Duration.ofMinutes(2), j -> j.getTrainedSteps() >= 2);
        TestKubernetes.Pod pod = TestKubernetes.PODS.get(TestKubernetes.jobsOf(job.getId()).get(0)
                .getMetadata()
                .getName());
        List<ProcessHandle> processes = new java.util.ArrayList<>(pod.process().descendants().toList());
        processes.add(pod.process().toHandle());
        assertFalse(processes.size() < 2, "the agent and its trainer worker");

        long asked = System.nanoTime();
        TestClients.as(channel, FineTuningJobTest.ENGINEER)
                .cancelJob(JobActionRequest.newBuilder().setJobId(job.getId()).build());
        TestClients.awaitJob(channel, job.getId(), Duration.ofSeconds(10),
                j -> j.getState() == JobState.JOB_STATE_CANCELLED);
        for (ProcessHandle process : processes) {
            process.onExit().get(10, TimeUnit.SECONDS);
        }
        System.out.printf("cancel: the pod's processes were gone %.2f s after the request%n",
                (System.nanoTime() - asked) / 1e9);
        assertTrue(System.nanoTime() - asked < Duration.ofSeconds(10).toNanos());
        assertEquals(0, workers.count());
    }

    @Test
    void aPodKilledMidJobIsRelaunchedFromItsLastCheckpointAndEndsWithTheUninterruptedRunsAdapter() throws Exception {
        // 48 scenes, 8 epochs of batches of 8: 48 steps, a checkpoint every 4.
        var request = FineTuningJobTest.loraJob(FineTuningJobTest.TRAIN_VERSION)
                .setHyperparameters(Hyperparameters.newBuilder().setEpochs(8).setBatchSize(8).setLearningRate(3e-3))
                .build();
        FineTuningJob uninterrupted = TestClients.awaitJob(channel,
                TestClients.as(channel, FineTuningJobTest.ENGINEER).createJob(request).getJob().getId(),
                Duration.ofMinutes(3), j -> j.getState() == JobState.JOB_STATE_SUCCEEDED);

        FineTuningJob job = TestClients.as(channel, FineTuningJobTest.ENGINEER).createJob(request).getJob();
        TestClients.awaitJob(channel, job.getId(), Duration.ofMinutes(2), j -> j.getTrainedSteps() >= 6);
        Job first = TestKubernetes.jobsOf(job.getId()).get(0);
        TestKubernetes.Pod pod = TestKubernetes.PODS.get(first.getMetadata().getName());
        // The node is lost: every process of the pod dies at once, nothing is reported.
        pod.process().descendants().forEach(ProcessHandle::destroyForcibly);
        pod.process().destroyForcibly();

        FineTuningJob resumed = TestClients.awaitJob(channel, job.getId(), Duration.ofMinutes(3),
                j -> j.getState() == JobState.JOB_STATE_SUCCEEDED);
        String history = TestClients.messages(TestClients.allEvents(channel, job.getId()));
        assertEquals(2, resumed.getAttempt(), history);
        assertTrue(history.contains("The worker's pod ended without reporting"), history);
        assertTrue(java.util.regex.Pattern.compile("Training resumed from step [1-9]\\d* of 48").matcher(history)
                .find(), history);
        // Two launches, two Jobs: the failed one stays for its pod's log.
        List<Job> launches = TestKubernetes.jobsOf(job.getId());
        assertEquals(2, launches.size());
        assertNotEquals(first.getMetadata().getName(), launches.get(1).getMetadata().getName());
        // The adapter's files are bitwise those of the run that was never interrupted.
        assertEquals(TestClients.exportedFileHashes(channel, uninterrupted.getResultModelVersionId()),
                TestClients.exportedFileHashes(channel, resumed.getResultModelVersionId()));
    }

    /** A job long enough to be caught running: 400 scenes, 4 epochs of batches of 8. */
    private static dev.loupe.contracts.training.v1.CreateJobRequest longJob() {
        return FineTuningJobTest.loraJob(FineTuningJobTest.LONG_VERSION)
                .setHyperparameters(Hyperparameters.newBuilder().setEpochs(4).setBatchSize(8).setLearningRate(1e-3))
                .build();
    }
}
