package dev.loupe.system;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

import io.restassured.path.json.JsonPath;
import org.junit.jupiter.api.Test;

import dev.loupe.engine.tiny.SyntheticScenes;
import dev.loupe.support.testing.KeycloakTokens;

import static dev.loupe.system.Gateway.as;

/**
 * Serving throughput and latency through the whole path an application takes (the gateway's OpenAI route, gRPC to
 * the serving-service, its admission and batching, the engine), at 1, 4 and 16 concurrent clients, next to the
 * engine's own batched generation rate for the same batch sizes, measured in the same run on the same adapter. A
 * fine-tuned adapter is trained first (a small LoRA job on the tiny base), approved and deployed with batches of
 * up to 16 and the response cache off. Every request is a greedy answer to the colours question about a distinct
 * scene, up to 32 tokens; both sides answer the same scenes, so they generate the same tokens. The clients are the
 * JDK's HTTP client with bodies serialized before the clock starts. A benchmark, not a test: run it on the stack with
 * {@code deploy/local/test.sh -pl system-tests -Dit.test=ServingBenchmark} after {@code mvn install -DskipTests}.
 */
class ServingBenchmark {
    private static final int[] CLIENTS = {1, 4, 16};
    private static final int REQUESTS_PER_CLIENT = Integer.getInteger("loupe.bench.requests-per-client", 6);
    private static final int MAX_TOKENS = 32;
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
    private static final Pattern ENGINE_LINE = Pattern.compile("engine batch=(\\d+) tokens/s=([0-9.]+)");

    @Test
    void servingThroughputAgainstTheEngineAlone() throws Exception {
        String version = trainAndApprove();
        Path adapter = exportAdapter(version);
        String name = Gateway.uniqueName("bench");
        as("acme-engineer").contentType("application/json")
                .body(Map.of("model", version, "name", name, "max_batch_size", 16, "max_concurrent_sequences", 64,
                        "cache_enabled", false))
                .post("/v1/deployments")
                .then()
                .statusCode(201);

        Map<Integer, double[]> gateway = new LinkedHashMap<>();
        // One warm-up round at 16 clients, on other scenes: libtorch's first passes of each shape are slower.
        run(name, 16, 1, new AtomicInteger(1000));
        for (int clients : CLIENTS) {
            // Scenes 0 .. clients * requests - 1, the ones the engine-alone run answers in batches of that size.
            gateway.put(clients, run(name, clients, REQUESTS_PER_CLIENT, new AtomicInteger()));
        }
        Map<Integer, Double> engine = engineAlone(adapter, REQUESTS_PER_CLIENT);

        System.out.println();
        System.out.println("clients  gateway tokens/s  p50 ms  p99 ms  engine tokens/s (batch = clients)  path cost");
        for (int clients : CLIENTS) {
            double[] figures = gateway.get(clients);
            double alone = engine.get(clients);
            System.out.printf(Locale.ROOT, "%7d  %16.1f  %6.0f  %6.0f  %34.1f  %8.1f%%%n", clients, figures[0],
                    figures[1], figures[2], alone, 100 * (1 - figures[0] / alone));
        }
        System.out.printf(Locale.ROOT, "throughput at 16 clients / at 1 client: %.2fx%n",
                gateway.get(16)[0] / gateway.get(1)[0]);
        String metrics = io.restassured.RestAssured.get(System.getProperty("loupe.test.serving-url",
                "http://localhost:8083") + "/q/metrics").asString();
        metrics.lines().filter(line -> line.startsWith("loupe_inference_batch_size")).forEach(System.out::println);
    }

    /**
     * Each client sends its requests one after another; returns tokens/s, p50 and p99 latency (ms). The clients use
     * the JDK's HTTP client (kept-alive connections) with every body serialized before the clock starts: the
     * figures are the platform's path, not a test library's work (on two cores, the client shares the CPU with
     * every service).
     */
    private static double[] run(String deployment, int clients, int requestsPerClient, AtomicInteger scenes)
            throws Exception {
        // The requests are made before the clock starts: drawing and encoding pictures is the client's work.
        SyntheticScenes source = new SyntheticScenes(9999);
        String token = KeycloakTokens.accessToken("acme-app");
        List<List<HttpRequest>> requests = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            List<HttpRequest> own = new ArrayList<>();
            for (int r = 0; r < requestsPerClient; r++) {
                Map<String, Object> body = new LinkedHashMap<>(FineTuningIT.chatRequest(deployment,
                        source.scene(scenes.getAndIncrement())));
                body.put("max_tokens", MAX_TOKENS);
                own.add(HttpRequest.newBuilder(URI.create(Gateway.URL + "/v1/chat/completions"))
                        .header("Authorization", "Bearer " + token)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)))
                        .build());
            }
            requests.add(own);
        }
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        List<Double> latencies = Collections.synchronizedList(new ArrayList<>());
        AtomicLong tokens = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        long start = System.nanoTime();
        try {
            List<Future<?>> running = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                List<HttpRequest> own = requests.get(c);
                running.add(pool.submit(() -> {
                    for (HttpRequest request : own) {
                        long sent = System.nanoTime();
                        HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
                        latencies.add((System.nanoTime() - sent) / 1e6);
                        if (response.statusCode() != 200) {
                            throw new AssertionError("status " + response.statusCode() + ": "
                                    + new String(response.body(), StandardCharsets.UTF_8));
                        }
                        tokens.addAndGet(JSON.readTree(response.body()).at("/usage/completion_tokens").asInt());
                    }
                    return null;
                }));
            }
            for (Future<?> client : running) {
                client.get(10, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        List<Double> sorted = new ArrayList<>(latencies);
        Collections.sort(sorted);
        return new double[]{tokens.get() / seconds, sorted.get((sorted.size() - 1) / 2),
                sorted.get((int) Math.ceil(0.99 * sorted.size()) - 1)};
    }

    /** The engine's batched rate, in a JVM of its own with the same adapter: batch size -> tokens/s. */
    private static Map<Integer, Double> engineAlone(Path adapter, int rounds) throws IOException, InterruptedException {
        Path root = Path.of(System.getProperty("loupe.stack.script")).toAbsolutePath().getParent().getParent()
                .getParent();
        Path engine = root.resolve("vlm-engine/target");
        String classPath = engine.resolve("test-classes") + ":" + engine.resolve("classes") + ":"
                + engine.resolve("worker-lib") + "/*";
        Process process = new ProcessBuilder("java", "-Dai.djl.offline=true", "-cp", classPath,
                "dev.loupe.engine.serve.ServedModelBenchmark", "--adapter", adapter.toString(), "--batches", "1,4,16",
                "--rounds", Integer.toString(rounds), "--max-tokens", Integer.toString(MAX_TOKENS))
                .directory(root.toFile())
                .redirectErrorStream(true)
                .start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.waitFor() != 0) {
            throw new AssertionError("the engine benchmark failed:\n" + output);
        }
        Map<Integer, Double> rates = new LinkedHashMap<>();
        Matcher line = ENGINE_LINE.matcher(output);
        while (line.find()) {
            rates.put(Integer.valueOf(line.group(1)), Double.valueOf(line.group(2)));
        }
        return rates;
    }

    /** A small LoRA job on the tiny base (40 scenes, 2 epochs), approved by a compliance officer. */
    private static String trainAndApprove() throws IOException {
        String versionId = FineTuningIT.importColourScenes(Files.createTempDirectory("loupe-serving-bench"), 40);
        String job = as("acme-engineer").contentType("application/json")
                .body(Map.of("model", "loupe-tiny-base", "dataset_version", versionId, "method", Map.of("type",
                        "lora"), "hyperparameters", Map.of("epochs", 2, "batch_size", 8, "learning_rate", 0.003),
                        "seed", 7, "suffix", "bench"))
                .post("/v1/fine-tuning/jobs")
                .then()
                .statusCode(201)
                .extract()
                .path("id");
        JsonPath finished = FineTuningIT.awaitJob(job, Duration.ofMinutes(5),
                j -> List.of("succeeded", "failed", "cancelled").contains(j.getString("status")));
        if (!finished.getString("status").equals("succeeded")) {
            throw new AssertionError("the job did not succeed: " + finished.prettify());
        }
        String version = finished.getString("result_model_version");
        as("acme-compliance").contentType("application/json")
                .body(Map.of("comment", "benchmark"))
                .post("/v1/models/" + version + "/approvals")
                .then()
                .statusCode(200);
        return version;
    }

    /** The version's adapter in a folder, for the engine-alone run. */
    private static Path exportAdapter(String version) throws IOException {
        byte[] zip = as("acme-engineer").get("/v1/models/" + version + "/adapter").then().statusCode(200).extract()
                .asByteArray();
        Path folder = Files.createTempDirectory("loupe-bench-adapter");
        try (ZipInputStream entries = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry entry = entries.getNextEntry(); entry != null; entry = entries.getNextEntry()) {
                Files.write(folder.resolve(Path.of(entry.getName()).getFileName()), entries.readAllBytes());
            }
        }
        return folder;
    }
}
