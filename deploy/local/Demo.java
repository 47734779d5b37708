import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.loupe.engine.tiny.Scene;
import dev.loupe.engine.tiny.SyntheticScenes;

/**
 * Loupe's main job, told through its REST API with the demo users of the local realm: a data steward imports a
 * synthetic dataset for a task the tiny base model does badly (listing the colours of the shapes in a picture, as
 * JSON), an engineer fine-tunes the base with LoRA, a compliance officer approves the result, the engineer deploys
 * it, an application asks it about pictures it never saw, and the compliance officer verifies the audit trail.
 *
 * <p>
 * Run by {@code deploy/local/demo.sh}, which starts the stack first. Java's single-file launcher runs it with the
 * engine's classes on the class path (for the synthetic scenes and Jackson). Arguments: {@code --scenes N} scenes
 * to import (default 600), {@code --epochs N} (default 4), {@code --held-out N} pictures to ask about (default 8).
 */
public class Demo {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String GATEWAY = System.getenv().getOrDefault("LOUPE_GATEWAY_URL", "http://localhost:8080");
    private static final String KEYCLOAK = System.getenv().getOrDefault("LOUPE_KEYCLOAK_URL",
            "http://localhost:8180");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private static final int STEPS = 8;

    private int step;

    public static void main(String[] args) throws Exception {
        Map<String, Integer> options = new LinkedHashMap<>(Map.of("--scenes", 600, "--epochs", 4, "--held-out", 8));
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!options.containsKey(args[i])) {
                throw new IllegalArgumentException("unknown option " + args[i] + "; options: " + options.keySet());
            }
            options.put(args[i], Integer.parseInt(args[i + 1]));
        }
        new Demo().run(options.get("--scenes"), options.get("--epochs"), options.get("--held-out"));
    }

    private void run(int sceneCount, int epochs, int heldOutCount) throws Exception {
        System.out.println();
        System.out.println("Loupe: fine-tune a vision-language model on your own images, approve it, serve it, "
                + "and prove who did what.");
        System.out.println("Task: list the colours of the shapes in a picture, as JSON. The tiny base model was "
                + "never taught it.");

        // 1. Import: the corpus, plus two broken lines that the import's validation must catch.
        step("acme-steward imports " + sceneCount + " synthetic scenes (records + a zip of PNG images)");
        Path corpus = Files.createTempDirectory("loupe-demo");
        new SyntheticScenes(2026).writeNativeCorpus(corpus, sceneCount, SyntheticScenes.CorpusTask.COLOURS);
        String records = Files.readString(corpus.resolve("records.jsonl"))
                + "{\"id\": \"broken-1\", \"images\": [\"missing.png\"], \"messages\": [{\"role\": \"user\", "
                + "\"content\": \"<image>\\nWhat is here?\"}, {\"role\": \"assistant\", \"content\": \"?\"}]}\n"
                + "{\"id\": \"broken-2\", \"messages\": [{\"role\": \"user\", \"content\": \"no answer\"}]}\n";
        String dataset = post("acme-steward", "/v1/datasets", Map.of("name", "demo-colours-" + shortId(),
                "description", "Synthetic scenes: which colours are the shapes?")).get("id").asText();
        JsonNode imported = importRecords(dataset, records.getBytes(StandardCharsets.UTF_8),
                Files.readAllBytes(corpus.resolve("images.zip")));
        detail("import %s: %d lines read, %d records accepted, %d lines rejected; images stored encrypted",
                imported.get("status").asText(), imported.get("lines_read").asLong(),
                imported.get("records_accepted").asLong(), imported.get("lines_rejected").asLong());

        step("The validation report names each rejected line, the field at fault and why");
        JsonNode report = get("acme-steward", "/v1/datasets/" + dataset + "/imports/" + imported.get("id").asText());
        for (JsonNode line : report.path("report").path("rejected_lines")) {
            detail("line %d, %s (%s): %s", line.get("line").asLong(),
                    line.get("pointer").asText().isEmpty() ? "the whole line" : line.get("pointer").asText(),
                    line.get("code").asText(), line.get("message").asText());
        }

        step("acme-steward freezes an immutable version with a 20% validation split");
        JsonNode version = post("acme-steward", "/v1/datasets/" + dataset + "/versions",
                Map.of("validation_fraction", 0.2, "split_seed", 1));
        detail("version %d: %d records, %d to train on, %d to validate with; manifest hash %s…",
                version.get("number").asInt(), version.get("record_count").asLong(),
                version.get("train_count").asLong(), version.get("validation_count").asLong(),
                version.get("manifest_hash").asText().substring(0, 16));

        step("acme-lead (an engineer who is also a compliance officer) fine-tunes loupe-tiny-base with LoRA (rank 8, "
                + epochs + " epochs)");
        Map<String, Object> job = new LinkedHashMap<>();
        job.put("model", "loupe-tiny-base");
        job.put("dataset_version", version.get("id").asText());
        job.put("method", Map.of("type", "lora", "lora", Map.of("rank", 8, "alpha", 16, "dropout", 0,
                "target_modules", List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                        "down_proj"))));
        job.put("hyperparameters", Map.of("epochs", epochs, "batch_size", 16, "learning_rate", 0.003,
                "warmup_ratio", 0.1));
        job.put("seed", 7);
        job.put("suffix", "colours");
        String jobId = post("acme-lead", "/v1/fine-tuning/jobs", job).get("id").asText();
        JsonNode finished = follow(jobId);
        if (!finished.get("status").asText().equals("succeeded")) {
            throw new IllegalStateException("the job ended " + finished.get("status").asText() + ": "
                    + finished.path("failure_reason").asText());
        }
        double trainingSeconds = Duration.between(java.time.Instant.parse(finished.get("started_at").asText()),
                java.time.Instant.parse(finished.get("finished_at").asText())).toMillis() / 1000.0;

        step("Before and after, on the " + (long) finished.path("evaluation").path("examples").asDouble()
                + " validation scenes");
        JsonNode before = finished.get("base_evaluation");
        JsonNode after = finished.get("evaluation");
        detail("%-22s %10s %10s", "", "base", "fine-tuned");
        for (String metric : List.of("loss", "token_accuracy", "exact_match", "json_valid", "field_f1")) {
            if (after.has(metric)) {
                detail("%-22s %10.3f %10.3f", metric, before.path(metric).asDouble(), after.get(metric).asDouble());
            }
        }

        String modelVersion = finished.get("result_model_version").asText();
        step("acme-compliance reviews model version " + modelVersion.substring(0, 8) + "… (four eyes)");
        HttpResponse<String> ownApproval = send("acme-lead", "POST", "/v1/models/" + modelVersion + "/approvals",
                Map.of("comment", "my own"));
        detail("acme-lead approving the model they trained: %d (%s)", ownApproval.statusCode(),
                JSON.readTree(ownApproval.body()).path("detail").asText());
        JsonNode approved = post("acme-compliance", "/v1/models/" + modelVersion + "/approvals",
                Map.of("comment", "exact match up on the validation split; lineage checked"));
        detail("status %s, reviewed by %s", approved.get("status").asText(),
                approved.path("reviewed_by").path("username").asText());

        step("acme-engineer deploys it; acme-app asks about " + heldOutCount + " pictures it never saw");
        String deploymentName = "colours-demo-" + shortId();
        String deploymentId = post("acme-engineer", "/v1/deployments", Map.of("model", modelVersion, "name",
                deploymentName)).path("id").asText();
        detail("deployment %s ready: POST %s/v1/chat/completions with model \"%s\"", deploymentName, GATEWAY,
                deploymentName);
        SyntheticScenes heldOut = new SyntheticScenes(9999);
        List<Double> latencies = new ArrayList<>();
        int right = 0;
        for (int i = 0; i < heldOutCount; i++) {
            Scene scene = heldOut.scene(i);
            String expected = scene.colours().answer();
            long start = System.nanoTime();
            JsonNode answer = post("acme-app", "/v1/chat/completions", chat(deploymentName, scene));
            latencies.add((System.nanoTime() - start) / 1e6);
            String text = answer.at("/choices/0/message/content").asText();
            boolean correct = sameJson(text, expected);
            right += correct ? 1 : 0;
            detail("%s %-40s expected %s (%.0f ms)", correct ? "✓" : "✗", text, expected,
                    latencies.get(latencies.size() - 1));
        }

        JsonNode drift = get("acme-engineer", "/v1/deployments/" + deploymentId + "/monitoring").path("drift");
        detail("drift monitoring: %s; %d pictures in its live window so far",
                drift.path("monitored").asBoolean()
                        ? "live traffic against the training data's reference (" + drift.path("features").size()
                                + " features)"
                        : "off: " + drift.path("unavailable_reason").asText(),
                drift.at("/features/0/samples").asInt());

        step("acme-compliance verifies the audit trail");
        // The services hand their events to the audit trail within seconds; verification covers what has arrived.
        Thread.sleep(3000);
        JsonNode verified = get("acme-compliance", "/v1/audit/verify");
        detail("%d events checked, chain %s", verified.get("checked").asLong(),
                verified.get("valid").asBoolean() ? "intact" : "BROKEN: " + verified.path("reason").asText());

        latencies.sort(Double::compare);
        double p50 = latencies.isEmpty() ? 0 : latencies.get((latencies.size() - 1) / 2);
        System.out.println();
        System.out.println("Summary");
        System.out.printf(Locale.ROOT, "  exact match on the validation split: %.0f%% before, %.0f%% after%n",
                100 * before.path("exact_match").asDouble(), 100 * after.path("exact_match").asDouble());
        System.out.printf(Locale.ROOT, "  held-out pictures answered right through the API: %d of %d%n", right,
                heldOutCount);
        System.out.printf(Locale.ROOT, "  training: %.0f s; chat completion latency p50: %.0f ms%n",
                trainingSeconds, p50);
        System.out.println("  the stack keeps running: deploy/local/stack.sh down stops it");
        if (!verified.get("valid").asBoolean()) {
            System.exit(1);
        }
    }

    /** Follows the job until it ends, printing its progress. */
    private static JsonNode follow(String jobId) throws Exception {
        String lastLine = "";
        long after = 0;
        double loss = Double.NaN;
        while (true) {
            JsonNode events = get("acme-lead", "/v1/fine-tuning/jobs/" + jobId + "/events?limit=100&after="
                    + after);
            for (JsonNode event : events.get("data")) {
                after = event.get("sequence").asLong();
                // Training steps' metrics carry a learning rate; evaluations' do not.
                if (event.path("data").has("learning_rate")) {
                    loss = event.path("data").get("loss").asDouble();
                }
            }
            JsonNode job = get("acme-lead", "/v1/fine-tuning/jobs/" + jobId);
            String status = job.get("status").asText();
            String line = String.format(Locale.ROOT, "%s, step %d of %d%s", status, job.get("trained_steps").asLong(),
                    job.get("total_steps").asLong(), Double.isNaN(loss) ? "" : String.format(Locale.ROOT,
                            ", training loss %.3f", loss));
            if (!line.equals(lastLine)) {
                detail("%s", line);
                lastLine = line;
            }
            if (List.of("succeeded", "failed", "cancelled").contains(status)) {
                return job;
            }
            if (!events.path("has_more").asBoolean()) {
                Thread.sleep(2000);
            }
        }
    }

    private static Map<String, Object> chat(String deployment, Scene scene) throws IOException {
        String png = Base64.getEncoder().encodeToString(SyntheticScenes.png(SyntheticScenes.render(scene)));
        return Map.of("model", deployment, "temperature", 0, "max_tokens", 40, "messages", List.of(Map.of("role",
                "user", "content", List.of(
                        Map.of("type", "image_url", "image_url", Map.of("url", "data:image/png;base64," + png)),
                        Map.of("type", "text", "text", Scene.COLOURS_QUESTION)))));
    }

    private static boolean sameJson(String text, String expected) {
        try {
            return JSON.readTree(text).equals(JSON.readTree(expected));
        } catch (IOException e) {
            return false;
        }
    }

    private static JsonNode importRecords(String dataset, byte[] records, byte[] images) throws Exception {
        String boundary = "loupe-demo-" + UUID.randomUUID();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        part(body, boundary, "format", null, "text/plain", "loupe".getBytes(StandardCharsets.UTF_8));
        part(body, boundary, "mode", null, "text/plain", "accept_valid".getBytes(StandardCharsets.UTF_8));
        part(body, boundary, "file", "records.jsonl", "application/x-ndjson", records);
        part(body, boundary, "images", "images.zip", "application/zip", images);
        body.write(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        HttpRequest request = HttpRequest.newBuilder(URI.create(GATEWAY + "/v1/datasets/" + dataset + "/imports"))
                .header("Authorization", "Bearer " + token("acme-steward"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .header("Idempotency-Key", UUID.randomUUID().toString())
                .timeout(Duration.ofMinutes(10))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray()))
                .build();
        return checked(HTTP.send(request, HttpResponse.BodyHandlers.ofString()), "POST imports");
    }

    private static void part(ByteArrayOutputStream body, String boundary, String name, String fileName,
            String type, byte[] content) throws IOException {
        String head = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\""
                + (fileName == null ? "" : "; filename=\"" + fileName + "\"") + "\r\nContent-Type: " + type
                + "\r\n\r\n";
        body.write(head.getBytes(StandardCharsets.UTF_8));
        body.write(content);
        body.write("\r\n".getBytes(StandardCharsets.UTF_8));
    }

    private static JsonNode get(String user, String path) throws Exception {
        return checked(send(user, "GET", path, null), "GET " + path);
    }

    private static JsonNode post(String user, String path, Object body) throws Exception {
        return checked(send(user, "POST", path, body), "POST " + path);
    }

    private static HttpResponse<String> send(String user, String method, String path, Object body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(GATEWAY + path))
                .header("Authorization", "Bearer " + token(user))
                .timeout(Duration.ofMinutes(5));
        if (body == null) {
            request.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            request.header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode checked(HttpResponse<String> response, String what) throws IOException {
        if (response.statusCode() >= 300) {
            throw new IllegalStateException(what + " answered " + response.statusCode() + ": " + response.body());
        }
        return JSON.readTree(response.body());
    }

    /**
     * A demo user's access token (the realm's demo users all have the password dev-password), fetched for each call:
     * tokens live minutes and the demo takes a few.
     */
    private static String token(String user) throws Exception {
        String form = "grant_type=password&client_id=loupe-cli&username=" + URLEncoder.encode(user,
                StandardCharsets.UTF_8) + "&password=dev-password";
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(KEYCLOAK
                + "/realms/loupe/protocol/openid-connect/token"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form))
                .build(), HttpResponse.BodyHandlers.ofString());
        return checked(response, "token for " + user).get("access_token").asText();
    }

    private void step(String text) {
        step++;
        System.out.printf(Locale.ROOT, "%n[%d/%d] %s%n", step, STEPS, text);
    }

    private static void detail(String format, Object... args) {
        System.out.println("      " + String.format(Locale.ROOT, format, args));
    }

    private static String shortId() {
        return UUID.randomUUID().toString().substring(0, 8);
    }
}
