package dev.loupe.engine.worker;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.loupe.engine.model.LoraAdapters;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A job that crashes, is resumed, is stopped on request, and is resumed again ends with adapters bitwise those of
 * the same job run straight through. The job has LoRA dropout (random numbers in every step), gradient
 * accumulation with an empty batch at the end of each epoch (6 examples in 2 steps of 2 batches of 2), warmup and
 * weight decay, so every piece of state a resumed run needs is exercised.
 */
class WorkerResumeTest {
    @TempDir
    static Path dir;
    static WorkerFixture fixture;

    @BeforeAll
    static void writeFixture() throws Exception {
        fixture = WorkerFixture.create(dir.resolve("fixture"));
    }

    /** 2 epochs of 2 steps, a checkpoint every 2 steps, no evaluation (it changes no weight). */
    private static ObjectNode spec(Path output) {
        ObjectNode spec = fixture.spec(output);
        spec.remove("validation_examples");
        spec.put("checkpoint_every_steps", 2);
        ((ObjectNode) spec.get("hyperparameters")).put("epochs", 2).put("gradient_accumulation_steps", 2);
        return spec;
    }

    @Test
    void aCrashedAndAStoppedRunResumeToTheWeightsOfAStraightRun() throws Exception {
        WorkerFixture.CapturedReports straightReports = new WorkerFixture.CapturedReports();
        TrainerWorker.Result straight = new TrainerWorker(WorkerFixture.read(spec(dir.resolve("straight"))),
                straightReports).run();
        assertEquals(TrainerWorker.Outcome.SUCCEEDED, straight.outcome());
        assertEquals(4, straight.step());

        Path output = dir.resolve("interrupted");
        JobSpec job = WorkerFixture.read(spec(output));

        // A crash after step 3: the checkpoint of step 2 is all that is left.
        WorkerFixture.CapturedReports crashReports = new WorkerFixture.CapturedReports();
        TrainerWorker.Result crashed = new TrainerWorker(job, report -> {
            crashReports.report(report);
            if (report instanceof WorkerReport.Metrics metrics && metrics.step() == 3) {
                throw new IllegalStateException("the machine went away");
            }
        }).run();
        assertEquals(TrainerWorker.Outcome.FAILED, crashed.outcome());
        assertEquals(1, crashed.outcome().exitCode());
        List<JsonNode> crashLines = crashReports.lines();
        assertEquals("failed", last(crashLines).path("type").asText());
        assertEquals("the machine went away", last(crashLines).path("reason").asText());
        assertEquals(List.of("step-2"), checkpoints(output));

        // Resumed from step 2, stopped on request after step 3: that step is saved before the worker exits.
        WorkerFixture.CapturedReports stopReports = new WorkerFixture.CapturedReports();
        TrainerWorker[] worker = new TrainerWorker[1];
        worker[0] = new TrainerWorker(job, report -> {
            stopReports.report(report);
            if (report instanceof WorkerReport.Metrics metrics && metrics.step() == 3) {
                worker[0].requestStop();
            }
        });
        TrainerWorker.Result stopped = worker[0].run();
        assertEquals(TrainerWorker.Outcome.STOPPED, stopped.outcome());
        assertEquals(143, stopped.outcome().exitCode());
        assertEquals(3, stopped.step());
        List<JsonNode> stopLines = stopReports.lines();
        assertEquals(List.of("started", "message", "metrics", "checkpoint", "message"), types(stopLines));
        assertEquals(2, stopLines.get(0).path("resumed_from_step").asLong());
        assertEquals(3, stopLines.get(3).path("step").asLong());
        assertTrue(last(stopLines).path("text").asText().contains("stopped on request after step 3"));
        assertEquals(List.of("step-2", "step-3"), checkpoints(output));

        WorkerFixture.CapturedReports finalReports = new WorkerFixture.CapturedReports();
        TrainerWorker.Result resumed = new TrainerWorker(job, finalReports).run();
        assertEquals(TrainerWorker.Outcome.SUCCEEDED, resumed.outcome());
        List<JsonNode> finalLines = finalReports.lines();
        assertEquals(List.of("started", "message", "metrics", "checkpoint", "succeeded"), types(finalLines));
        assertEquals(3, finalLines.get(0).path("resumed_from_step").asLong());

        assertArrayEquals(Files.readAllBytes(straight.artifact().resolve(LoraAdapters.WEIGHTS_FILE)),
                Files.readAllBytes(resumed.artifact().resolve(LoraAdapters.WEIGHTS_FILE)),
                "the resumed adapters must be bitwise the straight run's");
        // Each resumed step read the straight run's batches: the same losses, to the last bit.
        List<JsonNode> straightMetrics = metrics(straightReports.lines());
        List<JsonNode> resumedMetrics = Stream.of(crashLines, stopLines, finalLines)
                .flatMap(lines -> metrics(lines).stream())
                .toList();
        for (JsonNode step : resumedMetrics) {
            JsonNode same = straightMetrics.get(step.path("step").asInt() - 1);
            assertEquals(same.path("loss").asDouble(), step.path("loss").asDouble(), "step " + step.path("step"));
        }
    }

    @Test
    void checkpointsOfOtherSettingsAreNotResumed() throws Exception {
        Path output = dir.resolve("changed");
        ObjectNode spec = spec(output);
        TrainerWorker[] worker = new TrainerWorker[1];
        worker[0] = new TrainerWorker(WorkerFixture.read(spec), report -> {
            if (report instanceof WorkerReport.Checkpoint) {
                worker[0].requestStop();
            }
        });
        assertEquals(TrainerWorker.Outcome.STOPPED, worker[0].run().outcome());

        ((ObjectNode) spec.get("hyperparameters")).put("learning_rate", 0.5);
        WorkerFixture.CapturedReports reports = new WorkerFixture.CapturedReports();
        TrainerWorker.Result result = new TrainerWorker(WorkerFixture.read(spec), reports).run();

        assertEquals(TrainerWorker.Outcome.INVALID_SPEC, result.outcome());
        assertEquals(2, result.outcome().exitCode());
        String reason = last(reports.lines()).path("reason").asText();
        assertTrue(reason.startsWith("output " + output + " holds checkpoints of a run with another base model, "
                + "other examples, method, hyperparameters or seed"), reason);
    }

    private static List<String> checkpoints(Path output) throws Exception {
        try (Stream<Path> folders = Files.list(output.resolve(TrainerWorker.CHECKPOINTS_FOLDER))) {
            return folders.filter(Files::isDirectory).map(f -> f.getFileName().toString()).sorted().toList();
        }
    }

    private static List<String> types(List<JsonNode> lines) {
        return lines.stream().map(line -> line.path("type").asText()).toList();
    }

    private static List<JsonNode> metrics(List<JsonNode> lines) {
        return lines.stream().filter(line -> line.path("type").asText().equals("metrics")).toList();
    }

    private static JsonNode last(List<JsonNode> lines) {
        return lines.get(lines.size() - 1);
    }

    @Test
    void withEvaluationsAtEpochEndsAResumedRunEndsWithTheStraightRunsArtifact() throws Exception {
        // The fixture's own spec: 4 epochs of 3 steps with validation examples, so the model is evaluated at every
        // epoch's end; a checkpoint at each. The crash comes after step 4, past the evaluation of step 3.
        TrainerWorker.Result straight = new TrainerWorker(WorkerFixture.read(fixture.spec(dir.resolve("evaluated"))),
                new WorkerFixture.CapturedReports()).run();
        assertEquals(TrainerWorker.Outcome.SUCCEEDED, straight.outcome());
        JobSpec job = WorkerFixture.read(fixture.spec(dir.resolve("evaluated-crash")));
        TrainerWorker.Result crashed = new TrainerWorker(job, report -> {
            if (report instanceof WorkerReport.Metrics metrics && metrics.step() == 4) {
                throw new IllegalStateException("the machine went away");
            }
        }).run();
        assertEquals(TrainerWorker.Outcome.FAILED, crashed.outcome());
        TrainerWorker.Result resumed = new TrainerWorker(job, new WorkerFixture.CapturedReports()).run();
        assertEquals(TrainerWorker.Outcome.SUCCEEDED, resumed.outcome());
        try (Stream<Path> files = Files.list(straight.artifact())) {
            for (Path file : files.toList()) {
                assertArrayEquals(Files.readAllBytes(file),
                        Files.readAllBytes(resumed.artifact().resolve(file.getFileName())),
                        file.getFileName() + " differs");
            }
        }
    }
}
