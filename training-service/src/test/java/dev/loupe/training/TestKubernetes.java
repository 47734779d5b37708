package dev.loupe.training;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.NamespacedKubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.MockWebServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * A Kubernetes cluster for the Kubernetes executor's tests, as far as one can be had without a cluster: fabric8's
 * API server in memory (CRUD mode: it stores what is created, answers reads, deletes; it schedules nothing), and a
 * stand-in for the kubelet that runs each Job's container command as a local process with the Job's environment
 * (Secret references resolved, nothing else of this JVM's environment but HOME), marks the Job succeeded or failed
 * when the process exits, and sends SIGTERM to the process of a Job that is deleted. Images, volumes, node
 * selection and resources are not simulated: the tests read them from the Job.
 */
public class TestKubernetes implements QuarkusTestResourceLifecycleManager {
    static final String NAMESPACE = "loupe-training";

    /** A Job's process, as the kubelet started it. */
    record Pod(String jobName, Process process, Map<String, String> env) {
    }

    static volatile KubernetesMockServer server;
    static volatile NamespacedKubernetesClient client;
    /** Every pod started, by Job name. */
    static final Map<String, Pod> PODS = new ConcurrentHashMap<>();
    private static final Set<String> FINISHED = ConcurrentHashMap.newKeySet();
    private ScheduledExecutorService kubelet;

    @Override
    public Map<String, String> start() {
        server = new KubernetesMockServer(new io.fabric8.mockwebserver.Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(), false);
        server.init();
        client = server.createClient();
        // The operator's Secret of the trainer workers' Keycloak client (deploy/local/test.sh exports the secret).
        String secret = System.getenv("LOUPE_TRAINER_WORKER_CLIENT_SECRET");
        if (secret == null) {
            throw new IllegalStateException("LOUPE_TRAINER_WORKER_CLIENT_SECRET is not set; run the tests with"
                    + " deploy/local/test.sh");
        }
        client.secrets()
                .inNamespace(NAMESPACE)
                .resource(new SecretBuilder().withNewMetadata()
                        .withName("loupe-trainer-worker")
                        .endMetadata()
                        .addToStringData("client-id", "loupe-trainer-worker")
                        .addToStringData("client-secret", secret)
                        .build())
                .create();
        kubelet = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "test-kubelet");
            thread.setDaemon(true);
            return thread;
        });
        kubelet.scheduleWithFixedDelay(TestKubernetes::sync, 200, 200, TimeUnit.MILLISECONDS);
        return Map.of("quarkus.kubernetes-client.api-server-url", client.getConfiguration().getMasterUrl(),
                "quarkus.kubernetes-client.namespace", NAMESPACE, "quarkus.kubernetes-client.trust-certs", "true");
    }

    @Override
    public void stop() {
        kubelet.shutdownNow();
        PODS.values().forEach(pod -> {
            pod.process().descendants().forEach(ProcessHandle::destroyForcibly);
            pod.process().destroyForcibly();
        });
        client.close();
        server.destroy();
    }

    /** The Jobs of a fine-tuning job, oldest launch first. */
    static List<Job> jobsOf(String jobId) {
        return client.batch()
                .v1()
                .jobs()
                .inNamespace(NAMESPACE)
                .withLabel("loupe.dev/fine-tuning-job", jobId)
                .list()
                .getItems()
                .stream()
                .sorted(java.util.Comparator.comparing(
                        job -> Integer.parseInt(job.getMetadata().getLabels().get("loupe.dev/attempt"))))
                .toList();
    }

    /** One look at the cluster: start the new Jobs' pods, end the deleted Jobs' pods, record the pods' ends. */
    private static void sync() {
        try {
            List<Job> jobs = client.batch().v1().jobs().inNamespace(NAMESPACE).list().getItems();
            Set<String> existing = ConcurrentHashMap.newKeySet();
            for (Job job : jobs) {
                String name = job.getMetadata().getName();
                existing.add(name);
                if (!PODS.containsKey(name)) {
                    start(job);
                }
            }
            for (Pod pod : PODS.values()) {
                if (FINISHED.contains(pod.jobName())) {
                    continue;
                }
                if (!existing.contains(pod.jobName())) {
                    // Deleted: Kubernetes sends the pod's processes SIGTERM (and SIGKILL after the grace period).
                    pod.process().destroy();
                    if (!pod.process().isAlive()) {
                        FINISHED.add(pod.jobName());
                    }
                } else if (!pod.process().isAlive()) {
                    int code = pod.process().exitValue();
                    client.batch()
                            .v1()
                            .jobs()
                            .inNamespace(NAMESPACE)
                            .withName(pod.jobName())
                            .editStatus(job -> new JobBuilder(job).editOrNewStatus()
                                    .withSucceeded(code == 0 ? 1 : 0)
                                    .withFailed(code == 0 ? 0 : 1)
                                    .endStatus()
                                    .build());
                    FINISHED.add(pod.jobName());
                }
            }
        } catch (Exception e) {
            e.printStackTrace();
        }
    }

    /** Runs the Job's container command once every Secret it names exists (the executor creates its own after). */
    private static void start(Job job) throws Exception {
        Container container = job.getSpec().getTemplate().getSpec().getContainers().get(0);
        Map<String, String> env = new HashMap<>();
        for (EnvVar variable : container.getEnv()) {
            if (variable.getValueFrom() == null) {
                env.put(variable.getName(), variable.getValue());
                continue;
            }
            var reference = variable.getValueFrom().getSecretKeyRef();
            Secret secret = client.secrets().inNamespace(NAMESPACE).withName(reference.getName()).get();
            if (secret == null) {
                return;
            }
            env.put(variable.getName(), secret.getStringData() != null
                    && secret.getStringData().containsKey(reference.getKey())
                            ? secret.getStringData().get(reference.getKey())
                            : new String(Base64.getDecoder().decode(secret.getData().get(reference.getKey())),
                                    StandardCharsets.UTF_8));
        }
        String name = job.getMetadata().getName();
        Path log = Files.createDirectories(Path.of("target/test-kubelet")).resolve(name + ".log");
        ProcessBuilder builder = new ProcessBuilder(container.getCommand()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().clear();
        builder.environment().put("HOME", System.getProperty("user.home"));
        builder.environment().putAll(env);
        PODS.put(name, new Pod(name, builder.start(), Map.copyOf(env)));
    }

}
