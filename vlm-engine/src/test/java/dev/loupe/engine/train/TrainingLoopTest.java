package dev.loupe.engine.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.loupe.engine.model.LlavaModel;
import dev.loupe.engine.text.EncodedChat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The loop: accumulation, learning, loss scaling and what it refuses. */
class TrainingLoopTest {
    private static final long X = EncodedChat.IGNORED_LABEL;

    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    @Test
    void twoAccumulatedBatchesOfOneEqualOneBatchOfTwo() {
        Random random = new Random(5);
        // Equal lengths, so that the batch of two needs no padding; different label counts, so that averaging
        // per batch instead of per token would show.
        TrainingBatch first = TinyTraining.countingBatch(random, 1, 8, 1);
        TrainingBatch second = TinyTraining.countingBatch(random, 1, 8, 5);
        TrainingBatch both = TrainingBatch.of(new long[][]{first.inputIds()[0], second.inputIds()[0]},
                new long[][]{first.labels()[0], second.labels()[0]});

        List<StepReport> accumulated = new ArrayList<>();
        Map<String, double[]> accumulatedWeights = trainFp64(2, TrainingData.cycling(List.of(first, second)),
                accumulated);
        List<StepReport> batched = new ArrayList<>();
        Map<String, double[]> batchedWeights = trainFp64(1, TrainingData.cycling(List.of(both)), batched);

        for (int i = 0; i < 2; i++) {
            assertEquals(batched.get(i).loss(), accumulated.get(i).loss(), 1e-12, "loss of step " + i);
            assertEquals(batched.get(i).gradNorm(), accumulated.get(i).gradNorm(), 1e-12, "norm of step " + i);
        }
        batchedWeights.forEach((name, values) -> {
            double[] other = accumulatedWeights.get(name);
            for (int i = 0; i < values.length; i++) {
                assertEquals(values[i], other[i], 1e-6, name + "[" + i + "]");
            }
        });
    }

    /**
     * Two steps of an FP64 model. AdamW's epsilon is 1 so that the update grows with the gradient's size; at 1e-8 the
     * first update is about {@code lr * sign(g)} and would hide a gradient averaged wrongly.
     */
    private Map<String, double[]> trainFp64(int accumulation, TrainingData data, List<StepReport> reports) {
        LlavaModel model = TinyTraining.model(manager, DataType.FLOAT64, 21);
        try (AdamW optimizer = AdamW.builder().optEpsilon(1).optWeightDecay(0).build(model)) {
            TrainingLoop loop = new TrainingLoop(model, optimizer, new LearningRateSchedule(0.05, 0, 10, 1),
                    TrainingSettings.builder()
                            .setTotalSteps(2)
                            .optAccumulationSteps(accumulation)
                            .optMaxGradNorm(Double.POSITIVE_INFINITY)
                            .build());
            reports.addAll(loop.train(data));
        }
        return TinyTraining.values(model);
    }

    @Test
    void learnsToCount() {
        LlavaModel model = TinyTraining.model(manager, DataType.FLOAT32, 8);
        List<TrainingBatch> batches = TinyTraining.countingBatches(3, 16, 8, 12);
        List<StepReport> heard = new ArrayList<>();
        List<StepReport> reports;
        try (AdamW optimizer = AdamW.builder().build(model)) {
            TrainingLoop loop = new TrainingLoop(model, optimizer, new LearningRateSchedule(1e-2, 10, 100, 0.1),
                    TrainingSettings.builder().setTotalSteps(100).optSeed(1).build());
            loop.addListener(heard::add);
            reports = loop.train(TrainingData.cycling(batches));
        }
        assertEquals(reports, heard, "the listener hears every step");
        assertEquals(100, reports.get(99).step());
        double first = reports.subList(0, 5).stream().mapToDouble(StepReport::loss).average().orElseThrow();
        double last = reports.subList(95, 100).stream().mapToDouble(StepReport::loss).average().orElseThrow();
        assertTrue(first > 3.5, "an untrained model is near ln(50) = 3.9: " + first);
        assertTrue(last < 0.5, "counting is learnt: loss " + first + " -> " + last);
        assertTrue(reports.stream().allMatch(r -> r.tokensPerSecond() > 0 && r.gradNorm() > 0));
        assertEquals(1e-3, reports.get(1).learningRate(), 1e-12, "step 1 of a 10-step warmup");
    }

    /** A batch whose image holds an infinite pixel: every gradient of the step becomes NaN. */
    private static TrainingBatch poisonedImageBatch() {
        long image = TinyTraining.IMAGE;
        long[] ids = {1, image, image, image, image, 2, 3, 4};
        long[] labels = {X, X, X, X, X, 2, 3, 4};
        float[] pixels = new float[3 * 8 * 8];
        pixels[0] = Float.POSITIVE_INFINITY;
        return new TrainingBatch(new long[][]{ids}, new long[][]{labels}, new boolean[][]{{true, true, true, true,
                true, true, true, true}}, pixels);
    }

    @Test
    void lossScalingSkipsAStepWhoseGradientsOverflowAndHalvesTheScale() {
        LlavaModel model = TinyTraining.model(manager, DataType.FLOAT32, 4);
        List<TrainingBatch> batches = new ArrayList<>();
        batches.add(poisonedImageBatch());
        batches.addAll(TinyTraining.countingBatches(2, 3, 2, 8));
        try (AdamW optimizer = AdamW.builder().build(model)) {
            TrainingLoop loop = new TrainingLoop(model, optimizer, new LearningRateSchedule(1e-2, 0, 10, 0.1),
                    TrainingSettings.builder().setTotalSteps(10).optLossScaling(1024, 2).build());
            Map<String, double[]> before = TinyTraining.values(model);

            StepReport skipped = loop.step(TrainingData.cycling(batches));
            assertTrue(skipped.skipped());
            assertFalse(Double.isFinite(skipped.gradNorm()));
            assertEquals(1024, skipped.lossScale());
            assertEquals(0, optimizer.stepCount(), "the optimizer did not step");
            TinyTraining.values(model).forEach((name, values) -> assertArrayEquals(before.get(name), values, name));
            assertEquals(new TrainingState.LossScale(512, 0), loop.state().lossScale(), "halved");
            assertEquals(1, loop.state().step(), "the schedule moves on; the batch is consumed");

            StepReport good = loop.step(TrainingData.cycling(batches));
            assertFalse(good.skipped());
            assertEquals(512, good.lossScale());
            assertTrue(Double.isFinite(good.loss()) && good.gradNorm() > 0);
            assertFalse(Arrays.equals(before.get("embed_tokens"), TinyTraining.values(model).get("embed_tokens")));
            assertEquals(new TrainingState.LossScale(512, 1), loop.state().lossScale());
            loop.step(TrainingData.cycling(batches));
            assertEquals(new TrainingState.LossScale(1024, 0), loop.state().lossScale(), "doubled after 2 good steps");
            assertEquals(2, optimizer.stepCount());
        }
    }

    @Test
    void anFp16ModelLearnsWithLossScaling() {
        LlavaModel model = TinyTraining.model(manager, DataType.FLOAT16, 8);
        List<TrainingBatch> batches = TinyTraining.countingBatches(3, 16, 8, 12);
        List<StepReport> reports;
        try (AdamW optimizer = AdamW.builder().build(model)) {
            assertEquals(optimizer.parameters().size(),
                    optimizer.exportState().keySet().stream().filter(name -> name.endsWith(".master")).count(),
                    "every FP16 parameter has an FP32 master copy");
            TrainingLoop loop = new TrainingLoop(model, optimizer, new LearningRateSchedule(1e-2, 10, 60, 0.1),
                    TrainingSettings.builder().setTotalSteps(60).optLossScaling(65536, 20).build());
            reports = loop.train(TrainingData.cycling(batches));
            long skipped = reports.stream().filter(StepReport::skipped).count();
            // PyTorch's default initial scale overflows FP16 gradients here: the first steps are skipped until the
            // scale has come down.
            assertTrue(reports.get(0).skipped() && skipped < 20, skipped + " steps skipped");
            assertEquals(60 - skipped, optimizer.stepCount());
            assertTrue(loop.state().lossScale().scale() < 65536);
        }
        double first = reports.get(0).loss();
        double last = reports.subList(55, 60).stream().mapToDouble(StepReport::loss).average().orElseThrow();
        assertTrue(last < first / 3, "FP16 training learns to count: " + first + " -> " + last);
    }

    @Test
    void withoutLossScalingNonFiniteGradientsStopTheRun() {
        LlavaModel model = TinyTraining.model(manager, DataType.FLOAT32, 4);
        try (AdamW optimizer = AdamW.builder().build(model)) {
            TrainingLoop loop = new TrainingLoop(model, optimizer, new LearningRateSchedule(1e-2, 0, 10, 0.1),
                    TrainingSettings.builder().setTotalSteps(10).build());
            Map<String, double[]> before = TinyTraining.values(model);
            assertThrows(IllegalStateException.class, () -> loop.step(position -> poisonedImageBatch()));
            TinyTraining.values(model).forEach((name, values) -> assertArrayEquals(before.get(name), values, name));
        }
    }

    @Test
    void aStepWithoutLabelledTokensIsRefused() {
        LlavaModel model = TinyTraining.model(manager, DataType.FLOAT32, 4);
        TrainingBatch unlabelled = TrainingBatch.of(new long[][]{{1, 2, 3}}, new long[][]{{X, X, X}});
        try (AdamW optimizer = AdamW.builder().build(model)) {
            TrainingLoop loop = new TrainingLoop(model, optimizer, new LearningRateSchedule(1e-2, 0, 10, 0.1),
                    TrainingSettings.builder().setTotalSteps(10).build());
            assertThrows(IllegalArgumentException.class, () -> loop.step(position -> unlabelled));
        }
    }

    @Test
    void chatsArePaddedOnTheRightWithIgnoredLabels() {
        EncodedChat shorter = new EncodedChat(new long[]{5, 6, 7}, new boolean[]{false, true, true}, 0);
        EncodedChat longer = new EncodedChat(new long[]{5, 6, 7, 8, 9}, new boolean[]{false, false, false, true,
                true}, 0);
        TrainingBatch batch = TrainingBatch.fromChats(List.of(shorter, longer), 0, new float[0]);
        assertArrayEquals(new long[]{5, 6, 7, 0, 0}, batch.inputIds()[0]);
        assertArrayEquals(new long[]{X, 6, 7, X, X}, batch.labels()[0]);
        assertArrayEquals(new boolean[]{true, true, true, false, false}, batch.isToken()[0]);
        assertArrayEquals(new long[]{X, X, X, 8, 9}, batch.labels()[1]);
        assertEquals(8, batch.tokenCount());
    }
}
