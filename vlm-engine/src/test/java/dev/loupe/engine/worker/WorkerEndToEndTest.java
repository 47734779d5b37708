package dev.loupe.engine.worker;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.loupe.engine.checkpoint.DType;
import dev.loupe.engine.checkpoint.SafetensorsFile;
import dev.loupe.engine.drift.DriftReference;
import dev.loupe.engine.model.HfCheckpoint;
import dev.loupe.engine.model.LlavaModel;
import dev.loupe.engine.model.LoraAdapters;
import dev.loupe.engine.model.LoraSettings;
import dev.loupe.engine.nn.AdaptableLinear;
import dev.loupe.engine.train.TrainingCheckpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whole jobs in-process on a tiny random model: what they report, in which order, and what they leave on disk.
 */
class WorkerEndToEndTest {
    @TempDir
    static Path dir;
    static WorkerFixture fixture;

    @BeforeAll
    static void writeFixture() throws Exception {
        fixture = WorkerFixture.create(dir.resolve("fixture"));
    }

    @Test
    void aLoraJobReportsTrainsEvaluatesAndLeavesAnAdapter() throws Exception {
        Map<Path, byte[]> baseBefore = WorkerFixture.files(fixture.base);
        Path output = dir.resolve("lora");
        WorkerFixture.CapturedReports reports = new WorkerFixture.CapturedReports();

        TrainerWorker.Result result = new TrainerWorker(WorkerFixture.read(fixture.spec(output)), reports).run();

        assertEquals(TrainerWorker.Outcome.SUCCEEDED, result.outcome());
        assertEquals(0, result.outcome().exitCode());
        assertEquals(output.resolve(TrainerWorker.ADAPTER_FOLDER), result.artifact());
        // The drift reference travels with the adapter: too few examples here for distributions, but counted.
        DriftReference reference = DriftReference.fromJson(Files.readAllBytes(result.artifact()
                .resolve(DriftReference.FILE)));
        assertEquals(6, reference.answers());
        assertTrue(reference.images() > 0);
        assertEquals(Map.of(), reference.distributions());
        // 6 examples in batches of 2: 3 steps an epoch, 4 epochs, a checkpoint after each epoch, and an evaluation
        // after each epoch but the last (the final one follows the training).
        List<JsonNode> lines = reports.lines();
        List<String> expected = new ArrayList<>(List.of("started", "evaluation"));
        for (int step = 1; step <= 12; step++) {
            expected.add("metrics");
            if (step % 3 == 0) {
                expected.add("checkpoint");
            }
            if (step % 3 == 0 && step < 12) {
                expected.add("evaluation");
            }
        }
        expected.addAll(List.of("evaluation", "succeeded"));
        assertEquals(expected, lines.stream().map(line -> line.path("type").asText()).toList());

        JsonNode started = lines.get(0);
        assertEquals("job-1", started.path("job_id").asText());
        assertEquals(12, started.path("total_steps").asLong());
        assertEquals(0, started.path("resumed_from_step").asLong());

        List<JsonNode> metrics = lines.stream().filter(line -> line.path("type").asText().equals("metrics")).toList();
        for (int i = 0; i < metrics.size(); i++) {
            JsonNode step = metrics.get(i);
            assertEquals(i + 1, step.path("step").asLong());
            assertEquals((i + 1) / 3.0, step.path("epoch").asDouble(), 1e-12);
            assertTrue(step.path("grad_norm").asDouble() > 0 && step.path("tokens_per_second").asDouble() > 0);
            assertTrue(step.has("learning_rate") && step.has("loss"));
        }
        assertEquals(0.0, metrics.get(0).path("learning_rate").asDouble(), "step 0 of a warmup has rate 0");
        double firstLoss = metrics.subList(0, 3).stream().mapToDouble(m -> m.path("loss").asDouble()).average()
                .orElseThrow();
        double lastLoss = metrics.subList(9, 12).stream().mapToDouble(m -> m.path("loss").asDouble()).average()
                .orElseThrow();
        assertTrue(lastLoss < firstLoss * 0.9, "the loss must go down: " + firstLoss + " -> " + lastLoss);

        JsonNode baseEvaluation = lines.get(1);
        JsonNode fineTuned = lines.get(lines.size() - 2);
        assertEquals("base", baseEvaluation.path("model").asText());
        assertEquals(0, baseEvaluation.path("step").asLong());
        assertEquals("fine_tuned", fineTuned.path("model").asText());
        assertEquals(12, fineTuned.path("step").asLong());
        assertEquals(2, fineTuned.path("examples").asInt());
        assertTrue(fineTuned.path("loss").asDouble() < baseEvaluation.path("loss").asDouble());
        for (JsonNode evaluation : List.of(baseEvaluation, fineTuned)) {
            for (String share : List.of("token_accuracy", "exact_match")) {
                double value = evaluation.path(share).asDouble(-1);
                assertTrue(value >= 0 && value <= 1, share + " " + value);
            }
        }
        JsonNode saved = WorkerFixture.JSON.readTree(output.resolve(TrainerWorker.EVALUATION_FILE).toFile());
        assertEquals(baseEvaluation.path("loss").asDouble(), saved.path("base").path("loss").asDouble());
        assertEquals(fineTuned.path("exact_match").asDouble(),
                saved.path("fine_tuned").path("exact_match").asDouble());

        JsonNode succeeded = lines.get(lines.size() - 1);
        assertEquals(output.toString(), succeeded.path("output").asText());
        assertEquals(result.artifact().toString(), succeeded.path("adapter").asText());
        assertFalse(succeeded.has("model"));

        // The last two complete checkpoints are kept.
        try (Stream<Path> folders = Files.list(output.resolve(TrainerWorker.CHECKPOINTS_FOLDER))) {
            assertEquals(List.of("run-settings.txt", "step-12", "step-9"),
                    folders.map(f -> f.getFileName().toString()).sorted().toList());
        }
        assertTrue(Files.exists(output.resolve("checkpoints/step-12").resolve(TrainingCheckpoint.STATE_FILE)));

        try (NDManager manager = NDManager.newBaseManager()) {
            LlavaModel model = HfCheckpoint.load(manager, fixture.base, DataType.FLOAT32);
            LoraSettings settings = LoraAdapters.load(manager, model, result.artifact());
            assertEquals(new LoraSettings(4, 8, 0.1f, List.of("q_proj", "v_proj", "gate_proj"), false), settings);
            AdaptableLinear query = HfCheckpoint.linearModules(model)
                    .get("language_model.model.layers.0.self_attn.q_proj");
            assertTrue(query.loraB().getArray().abs().sum().getFloat() > 0, "the adapters trained");
        }
        Map<Path, byte[]> baseAfter = WorkerFixture.files(fixture.base);
        assertEquals(baseBefore.keySet(), baseAfter.keySet());
        baseBefore.forEach((file, bytes) -> assertArrayEquals(bytes, baseAfter.get(file), file + " changed"));
    }

    @Test
    void aFullJobTrainsTheDecoderAndLeavesTheFrozenVisionTowerAndProjectorAsTheyWere() throws Exception {
        Path output = dir.resolve("full");
        ObjectNode spec = fixture.spec(output);
        spec.remove("validation_examples");
        spec.putObject("method").put("type", "full");
        ((ObjectNode) spec.get("hyperparameters")).put("epochs", 1).put("learning_rate", 0.001);
        WorkerFixture.CapturedReports reports = new WorkerFixture.CapturedReports();

        TrainerWorker.Result result = new TrainerWorker(WorkerFixture.read(spec), reports).run();

        assertEquals(TrainerWorker.Outcome.SUCCEEDED, result.outcome());
        Path model = output.resolve(TrainerWorker.MODEL_FOLDER);
        assertEquals(model, result.artifact());
        assertEquals(List.of("started", "metrics", "metrics", "metrics", "checkpoint", "succeeded"),
                reports.lines().stream().map(line -> line.path("type").asText()).toList());
        assertEquals(model.toString(), reports.lines().get(5).path("model").asText());
        for (String file : List.of("config.json", "model.safetensors", "tokenizer.json", "preprocessor_config.json")) {
            assertTrue(Files.exists(model.resolve(file)), file);
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, Parameter> before = HfCheckpoint.parameters(HfCheckpoint.load(manager, fixture.base,
                    DataType.FLOAT32));
            Map<String, Parameter> after = HfCheckpoint.parameters(HfCheckpoint.load(manager, model,
                    DataType.FLOAT32));
            int changed = 0;
            for (Map.Entry<String, Parameter> entry : before.entrySet()) {
                float[] was = entry.getValue().getArray().toFloatArray();
                float[] is = after.get(entry.getKey()).getArray().toFloatArray();
                if (entry.getKey().startsWith("vision_tower.") || entry.getKey().startsWith("multi_modal_projector.")) {
                    assertArrayEquals(was, is, entry.getKey() + " is frozen");
                } else if (!Arrays.equals(was, is)) {
                    changed++;
                }
            }
            assertTrue(changed > 10, "the decoder trained: " + changed + " tensors changed");
        }
    }

    @Test
    void anFp16JobScalesItsLossAndLeavesAnFp16Model() throws Exception {
        Path output = dir.resolve("fp16");
        ObjectNode spec = fixture.spec(output);
        spec.remove("validation_examples");
        spec.putObject("method").put("type", "full");
        ((ObjectNode) spec.get("hyperparameters")).put("epochs", 1).put("precision", "fp16");
        WorkerFixture.CapturedReports reports = new WorkerFixture.CapturedReports();

        TrainerWorker.Result result = new TrainerWorker(WorkerFixture.read(spec), reports).run();

        assertEquals(TrainerWorker.Outcome.SUCCEEDED, result.outcome());
        // The loss scale starts at PyTorch's 65536, which the first step's gradients overflow: it is skipped.
        JsonNode first = reports.lines().get(1);
        assertEquals("metrics", first.path("type").asText());
        assertTrue(first.path("skipped").asBoolean());
        assertFalse(first.has("grad_norm"), "a norm that is not finite is left out");
        try (SafetensorsFile weights = SafetensorsFile.open(result.artifact().resolve("model.safetensors"))) {
            assertTrue(weights.tensors().values().stream().allMatch(tensor -> tensor.dtype() == DType.F16));
        }
    }

    @Test
    void inputsTheModelCannotTakeAreRefusedNamingTheFieldAndTheExample() throws Exception {
        Path longExamples = fixture.data.resolve("long.jsonl");
        Files.writeString(longExamples,
                "{\"id\": \"rambling\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"},"
                        + " {\"role\": \"assistant\", \"content\": \"" + "It is red. ".repeat(100) + "\"}]}\n");
        ObjectNode tooLong = fixture.spec(dir.resolve("long"));
        tooLong.put("validation_examples", longExamples.toString());
        WorkerFixture.CapturedReports reports = new WorkerFixture.CapturedReports();

        TrainerWorker.Result result = new TrainerWorker(WorkerFixture.read(tooLong), reports).run();

        assertEquals(TrainerWorker.Outcome.INVALID_SPEC, result.outcome());
        String reason = reports.lines().get(0).path("reason").asText();
        assertTrue(reason.startsWith("validation_examples: example rambling is "), reason);
        assertTrue(reason.contains("tokens long, more than the model's max_position_embeddings 128"), reason);

        ObjectNode unknownLayer = fixture.spec(dir.resolve("unknown"));
        unknownLayer.remove("validation_examples");
        ((ObjectNode) unknownLayer.get("method").get("lora")).putArray("target_modules").add("q_proj").add("fc1");
        reports = new WorkerFixture.CapturedReports();

        result = new TrainerWorker(WorkerFixture.read(unknownLayer), reports).run();

        assertEquals(TrainerWorker.Outcome.INVALID_SPEC, result.outcome());
        assertEquals("method.lora.target_modules names [fc1], which the model's language layers do not have; they "
                + "have [down_proj, gate_proj, k_proj, o_proj, q_proj, up_proj, v_proj]",
                reports.lines().get(reports.lines().size() - 1).path("reason").asText());
    }
}
