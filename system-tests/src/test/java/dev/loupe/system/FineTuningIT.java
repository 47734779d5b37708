package dev.loupe.system;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.regex.Pattern;

import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.loupe.engine.tiny.Scene;
import dev.loupe.engine.tiny.SyntheticScenes;

import static dev.loupe.system.Gateway.as;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fine-tuning through the gateway with real tokens on the whole stack: a steward imports synthetic scenes with a
 * task the tiny base model never saw and freezes a version; an engineer fine-tunes the tiny base with LoRA; the
 * worker (a child process of the training-service) reads the examples from the dataset-service, trains, and
 * evaluates before and after.
 */
class FineTuningIT {
    private static final List<String> ALL_PROJECTIONS = List.of("q_proj", "k_proj", "v_proj", "o_proj",
            "gate_proj", "up_proj", "down_proj");
    @TempDir
    static Path corpus;
    static String versionId;

    @BeforeAll
    static void importAndFreezeAVersion() throws Exception {
        // 80 scenes: 64 to train on and 16 to validate with.
        versionId = importColourScenes(corpus, 80);
    }

    /**
     * Imports scenes {@code 0 .. count-1} of the colours task (seed 5000) into a new dataset of acme's steward and
     * freezes a version with a fifth of them to validate with.
     *
     * @return the version's id
     */
    static String importColourScenes(Path corpus, int count) throws java.io.IOException {
        String dataset = importColourDataset(corpus, count, count);
        return as("acme-steward").contentType("application/json")
                .body("{\"validation_fraction\": 0.2, \"split_seed\": 1}")
                .post("/v1/datasets/" + dataset + "/versions")
                .then()
                .statusCode(201)
                .extract()
                .path("id");
    }

    /**
     * Imports scenes {@code 0 .. count-1} of the colours task (seed 5000) into a new dataset of acme's steward.
     *
     * @param atLeast records that must be accepted (a scene drawn twice is refused as a duplicate)
     * @return the dataset's id
     */
    static String importColourDataset(Path corpus, int count, int atLeast) throws java.io.IOException {
        new SyntheticScenes(5000).writeNativeCorpus(corpus, count, SyntheticScenes.CorpusTask.COLOURS);
        String dataset = Gateway.createDataset("acme-steward", Gateway.uniqueName("colours"));
        as("acme-steward").header("Idempotency-Key", "import-" + UUID.randomUUID())
                .multiPart("format", "loupe")
                .multiPart("file", "records.jsonl", Files.readAllBytes(corpus.resolve("records.jsonl")),
                        "application/x-ndjson")
                .multiPart("images", "images.zip", Files.readAllBytes(corpus.resolve("images.zip")), "application/zip")
                .post("/v1/datasets/" + dataset + "/imports")
                .then()
                .statusCode(201)
                .body("status", equalTo("succeeded"))
                .body("records_accepted", org.hamcrest.Matchers.greaterThanOrEqualTo(atLeast));
        return dataset;
    }

    private static Map<String, Object> loraJob(int epochs) {
        return Map.of("model", "loupe-tiny-base", "dataset_version", versionId,
                "method", Map.of("type", "lora", "lora", Map.of("rank", 8, "alpha", 16, "dropout", 0,
                        "target_modules", ALL_PROJECTIONS)),
                "hyperparameters", Map.of("epochs", epochs, "batch_size", 8, "learning_rate", 0.003,
                        "warmup_ratio", 0.1),
                "seed", 7, "suffix", "colours");
    }

    @Test
    void aLoraJobOnTheTinyBaseSucceedsAndBeatsTheBaseOnTheValidationSplit() {
        Response created = as("acme-engineer").contentType("application/json")
                .body(loraJob(4))
                .post("/v1/fine-tuning/jobs");
        created.then().statusCode(201).body("status", equalTo("queued")).body("model", equalTo("loupe-tiny-base"));
        String id = created.path("id");
        assertTrue(created.header("Location").endsWith("/v1/fine-tuning/jobs/" + id));

        JsonPath job = awaitJob(id, Duration.ofMinutes(5),
                j -> List.of("succeeded", "failed", "cancelled").contains(j.getString("status")));
        assertEquals("succeeded", job.getString("status"), job.prettify());
        // The validation split holds about a fifth of the 80 scenes; the rest train, 8 a batch, for 4 epochs.
        int validation = (int) job.getDouble("evaluation.examples");
        assertEquals(4 * ((80 - validation + 7) / 8), job.getInt("total_steps"));
        assertEquals(job.getInt("total_steps"), job.getInt("trained_steps"));
        double baseLoss = job.getDouble("base_evaluation.loss");
        double tunedLoss = job.getDouble("evaluation.loss");
        assertTrue(tunedLoss < baseLoss / 2, "validation loss " + baseLoss + " -> " + tunedLoss);
        assertTrue(job.getDouble("evaluation.token_accuracy") > job.getDouble("base_evaluation.token_accuracy"));

        // The history: created, the worker launched, a metrics event per step, checkpoints, the end.
        JsonPath events = as("acme-compliance").queryParam("limit", 100)
                .get("/v1/fine-tuning/jobs/" + id + "/events")
                .then()
                .statusCode(200)
                .extract()
                .jsonPath();
        List<String> messages = events.getList("data.message");
        assertTrue(messages.get(0).startsWith("Job created"), messages.toString());
        assertTrue(messages.stream().anyMatch(m -> m.startsWith("Worker launched")), messages.toString());
        assertTrue(events.getList("data.type").contains("metrics"));
        List<Map<String, Object>> checkpoints = as("acme-engineer").get("/v1/fine-tuning/jobs/" + id + "/checkpoints")
                .then()
                .statusCode(200)
                .extract()
                .path("data");
        assertEquals(4, checkpoints.size());

        // The same history as a server-sent event stream, which ends since the job has ended.
        String stream = as("acme-engineer").accept("text/event-stream")
                .get("/v1/fine-tuning/jobs/" + id + "/events")
                .then()
                .statusCode(200)
                .extract()
                .asString();
        // Fields as the SSE format allows them, with or without a space after the colon.
        assertTrue(Pattern.compile("(?m)^event: ?metrics$").matcher(stream).find(), stream);
        assertTrue(Pattern.compile("(?m)^id: ?1$").matcher(stream).find(), stream);
        assertTrue(Pattern.compile("(?m)^data: ?\\{.*\"message\":\"Job succeeded").matcher(stream).find(), stream);

        // Another tenant sees nothing of it.
        as("globex-engineer").get("/v1/fine-tuning/jobs/" + id).then().statusCode(404);

        // The job registered a candidate model version, which a compliance officer approves and an engineer
        // exports.
        String version = job.getString("result_model_version");
        as("acme-compliance").get("/v1/models/" + version)
                .then()
                .statusCode(200)
                .body("type", equalTo("fine_tuned"))
                .body("status", equalTo("candidate"))
                .body("job_id", equalTo(id))
                .body("lineage.dataset_version", equalTo(versionId))
                .body("lineage.trained_record_count", equalTo(80 - validation));
        as("acme-engineer").contentType("application/json")
                .body(Map.of("comment", "mine"))
                .post("/v1/models/" + version + "/approvals")
                .then()
                .statusCode(403);
        as("acme-compliance").contentType("application/json")
                .body(Map.of("comment", "validation loss halved"))
                .post("/v1/models/" + version + "/approvals")
                .then()
                .statusCode(200)
                .body("status", equalTo("approved"))
                .body("reviewed_by.username", equalTo("acme-compliance"));
        Response adapter = as("acme-engineer").get("/v1/models/" + version + "/adapter");
        adapter.then().statusCode(200).contentType("application/zip");
        List<String> names = new java.util.ArrayList<>();
        try (var zip = new java.util.zip.ZipInputStream(adapter.asInputStream())) {
            for (var entry = zip.getNextEntry(); entry != null; entry = zip.getNextEntry()) {
                names.add(entry.getName());
            }
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        assertEquals(List.of("adapter_config.json", "adapter_model.safetensors", "drift_reference.json"), names);
        as("globex-compliance").get("/v1/models/" + version).then().statusCode(404);

        deployAndAsk(version);
    }

    /** The approved version deployed and asked about scenes it never saw, as an OpenAI client asks. */
    private static void deployAndAsk(String version) {
        String name = Gateway.uniqueName("colours");
        Response deployed = as("acme-engineer").contentType("application/json")
                .body(Map.of("model", version, "name", name, "max_batch_size", 4, "evaluation_schedule",
                        "0/5 * * * * ?", "evaluation_dataset_version", versionId))
                .post("/v1/deployments");
        deployed.then()
                .statusCode(201)
                .body("status", equalTo("ready"))
                .body("evaluation_schedule", equalTo("0/5 * * * * ?"))
                .body("model_version_id", equalTo(version))
                .body("base_model_id", equalTo("loupe-tiny-base"));
        as("globex-engineer").get("/v1/deployments/" + deployed.path("id")).then().statusCode(404);

        List<String> colourWords = java.util.Arrays.stream(Scene.Colour.values()).map(Scene.Colour::word).toList();
        Map<String, Object> schema = Map.of("type", "object", "properties", Map.of("colours", Map.of("type",
                "array", "items", Map.of("enum", colourWords), "minItems", 1, "maxItems", 4)), "required",
                List.of("colours"));
        SyntheticScenes heldOut = new SyntheticScenes(5000);
        for (int scene = 80; scene < 84; scene++) {
            Map<String, Object> request = chatRequest(name, heldOut.scene(scene));
            JsonPath answer = as("acme-app").contentType("application/json")
                    .body(request)
                    .post("/v1/chat/completions")
                    .then()
                    .statusCode(200)
                    .body("object", equalTo("chat.completion"))
                    .body("model", equalTo(name))
                    .body("choices[0].message.role", equalTo("assistant"))
                    .extract()
                    .jsonPath();
            String text = answer.getString("choices[0].message.content");
            assertTrue(answer.getInt("usage.total_tokens") > answer.getInt("usage.completion_tokens"));

            // The same request streamed: chunks in OpenAI's format, the same text, then [DONE].
            Map<String, Object> streamed = new java.util.HashMap<>(request);
            streamed.put("stream", true);
            streamed.put("stream_options", Map.of("include_usage", true));
            String events = as("acme-app").contentType("application/json")
                    .body(streamed)
                    .post("/v1/chat/completions")
                    .then()
                    .statusCode(200)
                    .contentType(startsWith("text/event-stream"))
                    .extract()
                    .asString();
            StringBuilder content = new StringBuilder();
            List<String> data = events.lines().filter(line -> line.startsWith("data: ")).map(l -> l.substring(6))
                    .toList();
            assertEquals("[DONE]", data.get(data.size() - 1), events);
            for (String chunk : data.subList(0, data.size() - 1)) {
                JsonPath parsed = JsonPath.from(chunk);
                assertEquals("chat.completion.chunk", parsed.getString("object"));
                String delta = parsed.getString("choices[0].delta.content");
                content.append(delta == null ? "" : delta);
            }
            assertEquals(text, content.toString());

            // With the answers' JSON Schema, the answer is always such a document.
            Map<String, Object> constrained = new java.util.HashMap<>(request);
            constrained.put("response_format", Map.of("type", "json_schema", "json_schema", Map.of("name",
                    "colours", "schema", schema)));
            // Room for the longest document the schema allows (4 colours, with the blanks JSON permits): a document
            // cut off by max_tokens ends with finish_reason length, as OpenAI's does.
            constrained.put("max_tokens", 200);
            String document = as("acme-app").contentType("application/json")
                    .body(constrained)
                    .post("/v1/chat/completions")
                    .then()
                    .statusCode(200)
                    .body("choices[0].finish_reason", equalTo("stop"))
                    .extract()
                    .path("choices[0].message.content");
            List<String> colours = JsonPath.from(document).getList("colours");
            assertTrue(colourWords.containsAll(colours) && !colours.isEmpty(), document);
        }

        // The version carries the drift reference its worker measured: the deployment's monitoring compares live
        // traffic with it (too few requests here to assess; the serving-service's tests raise drift events).
        JsonPath monitoring = as("acme-engineer").get("/v1/deployments/" + deployed.path("id") + "/monitoring")
                .then()
                .statusCode(200)
                .extract()
                .jsonPath();
        assertTrue(monitoring.getBoolean("drift.monitored"), monitoring.prettify());
        assertEquals(List.of(), monitoring.getList("drift.events"));
        assertTrue(monitoring.getList("drift.features.name").containsAll(List.of("image_brightness",
                "image_embedding_distance", "output_tokens", "output_parse_failure_rate")), monitoring.prettify());
        as("globex-engineer").get("/v1/deployments/" + deployed.path("id") + "/monitoring").then().statusCode(404);

        // A batch over the dataset version's validation split, answered with the schema, read back decrypted.
        JsonPath batch = as("acme-app").contentType("application/json")
                .body(Map.of("model", name, "dataset_version", versionId, "max_tokens", 60, "response_format",
                        Map.of("type", "json_schema", "json_schema", Map.of("name", "colours", "schema", schema))))
                .post("/v1/batches")
                .then()
                .statusCode(201)
                .body("object", equalTo("batch"))
                .body("split", equalTo("validation"))
                .extract()
                .jsonPath();
        String batchId = batch.getString("id");
        long batchDeadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (!as("acme-app").get("/v1/batches/" + batchId).then().extract().path("status").equals("succeeded")
                && System.nanoTime() < batchDeadline) {
            sleep(Duration.ofMillis(250));
        }
        JsonPath done = as("acme-app").get("/v1/batches/" + batchId).then().statusCode(200).extract().jsonPath();
        assertEquals(done.getLong("total"), done.getLong("completed"), done.prettify());
        assertTrue(done.getLong("total") >= 8, done.prettify());
        JsonPath results = as("acme-app").get("/v1/batches/" + batchId + "/results?limit=100")
                .then()
                .statusCode(200)
                .extract()
                .jsonPath();
        List<String> answers = results.getList("data.content");
        assertEquals(done.getLong("total"), answers.size());
        for (String answer : answers) {
            List<String> colours = JsonPath.from(answer).getList("colours");
            assertTrue(colourWords.containsAll(colours) && !colours.isEmpty(), answer);
        }
        as("globex-app").get("/v1/batches/" + batchId).then().statusCode(404);
        as("globex-app").get("/v1/batches/" + batchId + "/results").then().statusCode(404);
        as("acme-app").contentType("application/json")
                .body(Map.of("model", name, "dataset_version", "01890a5d-ac96-7000-8000-000000000000"))
                .post("/v1/batches")
                .then()
                .statusCode(404)
                .body("field", equalTo("dataset_version"));

        // The scheduled evaluation (every 5 s here) scored the deployment on the version's validation split, next
        // to the scores the training job measured on the same split.
        long evaluationDeadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        JsonPath evaluated;
        do {
            sleep(Duration.ofMillis(500));
            evaluated = as("acme-engineer").get("/v1/deployments/" + deployed.path("id") + "/monitoring").then()
                    .statusCode(200).extract().jsonPath();
        } while (evaluated.getList("evaluations").isEmpty() && System.nanoTime() < evaluationDeadline);
        assertEquals(done.getLong("total"), evaluated.getLong("evaluations[0].examples"), evaluated.prettify());
        double live = evaluated.getDouble("evaluations[0].metrics.exact_match");
        double atTraining = evaluated.getDouble("evaluations[0].training_metrics.exact_match");
        assertTrue(Math.abs(live - atTraining) < 0.15, evaluated.prettify());
        assertEquals(atTraining - live > 0.05, evaluated.getBoolean("evaluations[0].regression"));

        // Tenant isolation on inference, and only inference roles call it.
        as("globex-app").contentType("application/json")
                .body(chatRequest(name, heldOut.scene(80)))
                .post("/v1/chat/completions")
                .then()
                .statusCode(404);
        as("acme-engineer").delete("/v1/deployments/" + deployed.path("id")).then().statusCode(204);
        as("acme-app").contentType("application/json")
                .body(chatRequest(name, heldOut.scene(80)))
                .post("/v1/chat/completions")
                .then()
                .statusCode(404);
    }

    /** OpenAI's request body for the colours question about a scene, answered greedily. */
    static Map<String, Object> chatRequest(String deployment, Scene scene) {
        String png;
        try {
            png = java.util.Base64.getEncoder().encodeToString(SyntheticScenes.png(SyntheticScenes.render(scene)));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return Map.of("model", deployment, "temperature", 0, "max_tokens", 40, "messages", List.of(Map.of("role",
                "user", "content", List.of(
                        Map.of("type", "image_url", "image_url", Map.of("url", "data:image/png;base64," + png)),
                        Map.of("type", "text", "text", Scene.COLOURS_QUESTION)))));
    }

    @Test
    void aFullFineTuneDeploysWithItsOwnWeights() {
        String id = as("acme-engineer").contentType("application/json")
                .body(Map.of("model", "loupe-tiny-base", "dataset_version", versionId, "method", Map.of("type",
                        "full"), "hyperparameters", Map.of("epochs", 1, "batch_size", 16, "learning_rate", 0.0005),
                        "seed", 7, "suffix", "full"))
                .post("/v1/fine-tuning/jobs")
                .then()
                .statusCode(201)
                .extract()
                .path("id");
        JsonPath job = awaitJob(id, Duration.ofMinutes(5),
                j -> List.of("succeeded", "failed", "cancelled").contains(j.getString("status")));
        assertEquals("succeeded", job.getString("status"), job.prettify());
        String version = job.getString("result_model_version");
        as("acme-engineer").get("/v1/models/" + version).then().statusCode(200).body("artifact_kind",
                equalTo("full"));
        as("acme-compliance").contentType("application/json")
                .body(Map.of("comment", "full weights"))
                .post("/v1/models/" + version + "/approvals")
                .then()
                .statusCode(200);

        String name = Gateway.uniqueName("full");
        String deployment = as("acme-engineer").contentType("application/json")
                .body(Map.of("model", version, "name", name))
                .post("/v1/deployments")
                .then()
                .statusCode(201)
                .body("status", equalTo("ready"))
                .extract()
                .path("id");
        try {
            as("acme-app").contentType("application/json")
                    .body(chatRequest(name, new SyntheticScenes(5000).scene(1)))
                    .post("/v1/chat/completions")
                    .then()
                    .statusCode(200)
                    .body("choices[0].message.role", equalTo("assistant"));
            // Its worker measured the drift reference with the fully trained model; it came with the weights.
            as("acme-engineer").get("/v1/deployments/" + deployment + "/monitoring")
                    .then()
                    .statusCode(200)
                    .body("drift.monitored", equalTo(true));
        } finally {
            as("acme-engineer").delete("/v1/deployments/" + deployment).then().statusCode(204);
        }
    }

    @Test
    void aCancelledJobsWorkerIsGoneWithinTenSeconds() {
        String id = as("acme-engineer").contentType("application/json")
                .body(loraJob(200))
                .post("/v1/fine-tuning/jobs")
                .then()
                .statusCode(201)
                .extract()
                .path("id");
        awaitJob(id, Duration.ofMinutes(5), j -> j.getInt("trained_steps") >= 1);
        assertTrue(workerAlive(id), "a worker process for job " + id);

        long start = System.nanoTime();
        as("acme-engineer").post("/v1/fine-tuning/jobs/" + id + "/cancel").then().statusCode(200);
        awaitJob(id, Duration.ofSeconds(10), j -> j.getString("status").equals("cancelled"));
        while (workerAlive(id) && System.nanoTime() - start < Duration.ofSeconds(10).toNanos()) {
            Thread.onSpinWait();
        }
        assertFalse(workerAlive(id), "the worker of job " + id + " still runs");
        as("acme-engineer").post("/v1/fine-tuning/jobs/" + id + "/cancel").then().statusCode(409);
    }

    @Test
    void aJobOutlivesACrashOfTheTrainingService() throws Exception {
        String id = as("acme-engineer").contentType("application/json")
                .body(loraJob(200))
                .post("/v1/fine-tuning/jobs")
                .then()
                .statusCode(201)
                .extract()
                .path("id");
        long before = awaitJob(id, Duration.ofMinutes(5), j -> j.getInt("trained_steps") >= 10).getInt(
                "trained_steps");

        try {
            // SIGKILL: the service has no chance to stop its worker, which goes on without anyone reading it.
            StackServices.kill("training-service");
            assertTrue(workerAlive(id), "the worker outlives the service");
            StackServices.start("training-service");

            // At start the service stops the orphan and relaunches the job from its last checkpoint. The restart
            // is awaited first: the job's last recorded step may already be beyond the one read before the kill.
            awaitJob(id, Duration.ofMinutes(3), j -> messages(id).stream()
                    .anyMatch(m -> m.startsWith("The training-service restarted")));
            long restartedAt = awaitJob(id, Duration.ofSeconds(30), j -> true).getInt("trained_steps");
            JsonPath resumed = awaitJob(id, Duration.ofMinutes(3), j -> j.getString("status").equals("running")
                    && j.getInt("trained_steps") > Math.max(before, restartedAt));
            assertEquals(1, workerCount(id), "one worker for the job, the orphan stopped");
            assertEquals(1, resumed.getInt("attempt"), "a restart does not count as an attempt");
        } finally {
            // Whatever happened, the long job must not hold the worker slot for the tests after this one.
            as("acme-engineer").post("/v1/fine-tuning/jobs/" + id + "/cancel");
        }
        awaitJob(id, Duration.ofSeconds(10), j -> j.getString("status").equals("cancelled"));
    }

    private static List<String> messages(String jobId) {
        return as("acme-engineer").queryParam("limit", 100)
                .get("/v1/fine-tuning/jobs/" + jobId + "/events")
                .then()
                .statusCode(200)
                .extract()
                .path("data.message");
    }

    @Test
    void aBadRequestNamesTheFieldAndQueuesNothing() {
        as("acme-engineer").contentType("application/json")
                .body(Map.of("model", "loupe-tiny-base", "dataset_version", versionId, "hyperparameters",
                        Map.of("learning_rate", 5)))
                .post("/v1/fine-tuning/jobs")
                .then()
                .statusCode(400)
                .contentType("application/problem+json")
                .body("field", equalTo("hyperparameters.learning_rate"));
        as("acme-engineer").contentType("application/json")
                .body(Map.of("model", "no-such-model", "dataset_version", versionId))
                .post("/v1/fine-tuning/jobs")
                .then()
                .statusCode(400)
                .body("field", equalTo("model"));
        as("globex-engineer").contentType("application/json")
                .body(Map.of("model", "loupe-tiny-base", "dataset_version", versionId))
                .post("/v1/fine-tuning/jobs")
                .then()
                .statusCode(400)
                .body("field", equalTo("dataset_version"));
    }

    /** Whether a trainer worker process of the job runs on this machine (the local executor's child JVM). */
    private static boolean workerAlive(String jobId) {
        return workerCount(jobId) > 0;
    }

    private static long workerCount(String jobId) {
        return ProcessHandle.allProcesses()
                .filter(process -> process.info()
                        .arguments()
                        .map(arguments -> String.join(" ", arguments))
                        .filter(line -> line.contains("dev.loupe.engine.worker.TrainerWorker") && line.contains(jobId))
                        .isPresent())
                .count();
    }

    static JsonPath awaitJob(String id, Duration timeout, Predicate<JsonPath> condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        JsonPath job;
        do {
            job = as("acme-engineer").get("/v1/fine-tuning/jobs/" + id).then().statusCode(200).extract().jsonPath();
            if (condition.test(job)) {
                return job;
            }
            if (job.getString("status").equals("failed")) {
                throw new AssertionError("job failed: " + job.prettify());
            }
            sleep(Duration.ofMillis(250));
        } while (System.nanoTime() < deadline);
        throw new AssertionError("job " + id + " after " + timeout + ": " + job.prettify());
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
