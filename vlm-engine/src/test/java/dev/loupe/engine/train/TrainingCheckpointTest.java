package dev.loupe.engine.train;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import dev.loupe.engine.checkpoint.CheckpointFormatException;
import dev.loupe.engine.checkpoint.DType;
import dev.loupe.engine.model.HfCheckpoint;
import dev.loupe.engine.model.LlavaModel;
import dev.loupe.engine.model.LoraAdapters;
import dev.loupe.engine.model.LoraSettings;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Six steps straight against three, a checkpoint, a fresh model and optimizer, and three more: every weight must be
 * bitwise the same. The runs accumulate gradients, warm up, clip and scale the loss, so each piece of state matters.
 */
class TrainingCheckpointTest {
    private static final LoraSettings LORA = new LoraSettings(2, 4, 0.2f, List.of("q_proj", "v_proj"), false);

    @TempDir
    Path dir;
    private NDManager manager;
    private final TrainingData data = TrainingData.cycling(TinyTraining.countingBatches(9, 5, 2, 10));

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private static TrainingLoop loop(LlavaModel model, AdamW optimizer) {
        return new TrainingLoop(model, optimizer, new LearningRateSchedule(5e-3, 2, 6, 0.1),
                TrainingSettings.builder()
                        .setTotalSteps(6)
                        .optAccumulationSteps(2)
                        .optMaxGradNorm(0.5)
                        .optSeed(77)
                        .optLossScaling(256, 2)
                        .build());
    }

    /** FP16 as well, where the weights come back from the optimizer's FP32 master copies. */
    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"FLOAT32", "FLOAT16"})
    void aResumedFullRunIsBitwiseTheUninterruptedOne(DataType type) throws Exception {
        LlavaModel straight = TinyTraining.model(manager, type, 1);
        List<StepReport> straightReports;
        try (AdamW optimizer = AdamW.builder().build(straight)) {
            straightReports = loop(straight, optimizer).train(data);
        }

        LlavaModel interrupted = TinyTraining.model(manager, type, 1);
        TrainingState saved;
        try (AdamW optimizer = AdamW.builder().build(interrupted)) {
            TrainingLoop loop = loop(interrupted, optimizer);
            loop.train(data, 3);
            TrainingCheckpoint.save(dir, loop, null);
            saved = loop.state();
        }
        // Three good steps from 256 with a growth interval of 2: doubled once, one good step since.
        assertEquals(new TrainingState(3, 6, 77, new TrainingState.LossScale(512, 1)), saved);
        assertTrue(Files.exists(dir.resolve(TrainingCheckpoint.MODEL_FOLDER).resolve(HfCheckpoint.CONFIG_FILE)));

        LlavaModel resumed = TinyTraining.model(manager, type, 2);
        List<StepReport> resumedReports;
        try (AdamW optimizer = AdamW.builder().build(resumed)) {
            TrainingLoop loop = loop(resumed, optimizer);
            TrainingCheckpoint.restore(dir, loop);
            assertEquals(saved, loop.state());
            resumedReports = loop.train(data);
        }

        assertSameWeights(straight, resumed);
        assertEquals(straightReports.subList(3, 6).stream().map(StepReport::loss).toList(),
                resumedReports.stream().map(StepReport::loss).toList());
    }

    @Test
    void aResumedLoraRunWithDropoutIsBitwiseTheUninterruptedOne() throws Exception {
        Path base = dir.resolve("base");
        HfCheckpoint.save(TinyTraining.model(manager, DataType.FLOAT32, 1), base, DType.F32, Long.MAX_VALUE);

        LlavaModel straight = loraModel(base, 10);
        try (AdamW optimizer = AdamW.builder().build(straight)) {
            loop(straight, optimizer).train(data);
        }

        Path checkpoint = dir.resolve("checkpoint");
        LlavaModel interrupted = loraModel(base, 10);
        try (AdamW optimizer = AdamW.builder().build(interrupted)) {
            TrainingLoop loop = loop(interrupted, optimizer);
            loop.train(data, 3);
            TrainingCheckpoint.save(checkpoint, loop, LORA);
        }
        assertTrue(Files.exists(checkpoint.resolve(TrainingCheckpoint.ADAPTER_FOLDER)
                .resolve(LoraAdapters.WEIGHTS_FILE)));
        assertFalse(Files.exists(checkpoint.resolve(TrainingCheckpoint.MODEL_FOLDER)), "the base is not copied");

        LlavaModel resumed = loraModel(base, 11);
        try (AdamW optimizer = AdamW.builder().build(resumed)) {
            TrainingLoop loop = loop(resumed, optimizer);
            TrainingCheckpoint.restore(checkpoint, loop);
            loop.train(data);
        }
        assertSameWeights(straight, resumed);
    }

    /** The base from its folder, adapters whose random start depends on {@code seed}. */
    private LlavaModel loraModel(Path base, int seed) throws Exception {
        LlavaModel model = HfCheckpoint.load(manager, base, DataType.FLOAT32);
        Engine.getInstance().setRandomSeed(seed);
        LoraAdapters.apply(manager, model, LORA);
        return model;
    }

    private static void assertSameWeights(LlavaModel expected, LlavaModel actual) {
        Map<String, double[]> want = TinyTraining.values(expected);
        Map<String, double[]> got = TinyTraining.values(actual);
        assertEquals(want.keySet(), got.keySet());
        want.forEach((name, values) -> assertArrayEquals(values, got.get(name), name + " must be bitwise equal"));
    }

    @Test
    void anAdapterCheckpointRefusesTrainedBaseWeights() {
        LlavaModel model = TinyTraining.model(manager, DataType.FLOAT32, 1);
        try (AdamW optimizer = AdamW.builder().build(model)) {
            assertThrows(IllegalArgumentException.class,
                    () -> TrainingCheckpoint.save(dir, loop(model, optimizer), LORA));
        }
    }

    @Test
    void anUnfinishedCheckpointIsRefused() {
        LlavaModel model = TinyTraining.model(manager, DataType.FLOAT32, 1);
        try (AdamW optimizer = AdamW.builder().build(model)) {
            assertThrows(CheckpointFormatException.class,
                    () -> TrainingCheckpoint.restore(dir, loop(model, optimizer)));
        }
    }
}
