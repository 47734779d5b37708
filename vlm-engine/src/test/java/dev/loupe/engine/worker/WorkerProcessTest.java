package dev.loupe.engine.worker;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.loupe.engine.train.TrainingCheckpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The worker as the training-service runs it: a child JVM whose standard output is the reports and nothing else,
 * whose exit code says how the job ended, and which SIGTERM stops at the next step with a checkpoint.
 */
class WorkerProcessTest {
    private static final long TIMEOUT_SECONDS = 60;

    @TempDir
    Path dir;

    private Process start(Path spec) throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        return new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
                "-Dai.djl.offline=true", TrainerWorker.class.getName(), spec.toString())
                .redirectError(dir.resolve("stderr.log").toFile())
                .start();
    }

    @Test
    void sigtermStopsAfterTheStepWithACheckpointAndExitsWith143() throws Exception {
        WorkerFixture fixture = WorkerFixture.create(dir.resolve("fixture"));
        Path output = dir.resolve("out");
        ObjectNode spec = fixture.spec(output);
        spec.remove("validation_examples");
        // Far more steps than the test waits for.
        ((ObjectNode) spec.get("hyperparameters")).put("epochs", 1000);
        Path specFile = dir.resolve("job.json");
        Files.writeString(specFile, spec.toString());

        Process worker = start(specFile);
        List<JsonNode> lines = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(worker.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                JsonNode report = WorkerFixture.JSON.readTree(line);
                assertTrue(report.isObject() && report.has("type"), "a report on standard output: " + line);
                lines.add(report);
                if (report.path("type").asText().equals("metrics") && report.path("step").asLong() == 2) {
                    // SIGTERM; Process.destroy() would also close the stream read here.
                    worker.toHandle().destroy();
                }
            }
        } finally {
            if (!worker.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                worker.destroyForcibly();
            }
        }

        assertEquals(143, worker.exitValue(), Files.readString(dir.resolve("stderr.log")));
        JsonNode checkpoint = lines.get(lines.size() - 2);
        JsonNode message = lines.get(lines.size() - 1);
        assertEquals("started", lines.get(0).path("type").asText());
        assertEquals("checkpoint", checkpoint.path("type").asText(), lines.toString());
        long step = checkpoint.path("step").asLong();
        assertTrue(step >= 2, "the steps done are saved: " + step);
        assertEquals(step, lines.get(lines.size() - 3).path("step").asLong(), "the last step run is the one saved");
        assertTrue(Files.exists(Path.of(checkpoint.path("path").asText()).resolve(TrainingCheckpoint.STATE_FILE)));
        assertEquals("message", message.path("type").asText());
        assertTrue(message.path("text").asText().startsWith("stopped on request after step " + step),
                message.toString());
    }

    @Test
    void aBadSpecExitsWith2NamingTheField() throws Exception {
        Path specFile = dir.resolve("job.json");
        Files.writeString(specFile, "{\"job_id\": \"j\", \"base_model\": \"b\", \"output\": \"o\", "
                + "\"train_examples\": \"t\", \"hyperparameters\": {\"learning_rate\": 3}}");

        Process worker = start(specFile);
        String out = new String(worker.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(worker.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS));

        assertEquals(2, worker.exitValue());
        assertEquals("{\"type\":\"failed\",\"reason\":\"hyperparameters.learning_rate must be in (0, 1]\"}\n", out);
    }
}
