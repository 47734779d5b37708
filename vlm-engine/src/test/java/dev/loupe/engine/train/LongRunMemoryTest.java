package dev.loupe.engine.train;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import org.junit.jupiter.api.Test;

import dev.loupe.engine.ProcessMemory;
import dev.loupe.engine.model.LlavaModel;
import dev.loupe.engine.text.EncodedChat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A long run keeps its memory flat: after the first steps (which create the optimizer's state and warm up
 * libtorch's and the JVM's allocators) no step leaves an array behind in the model's or the optimizer's manager,
 * and the process's resident memory stops growing.
 */
class LongRunMemoryTest {
    private static final long MIB = 1024 * 1024;
    /** Allocator and JVM noise; a leak of one step's activations or gradients grows far beyond this over 250 steps. */
    private static final long RESIDENT_GROWTH_BOUND = 64 * MIB;

    @Test
    void threeHundredStepsKeepOpenArraysAndResidentMemoryFlat() {
        try (NDManager manager = NDManager.newBaseManager()) {
            LlavaModel model = TinyTraining.model(manager, DataType.FLOAT32, 8);
            List<TrainingBatch> batches = new ArrayList<>(TinyTraining.countingBatches(3, 7, 2, 8));
            // With an image, so that the vision tower and the projector run (and train) too.
            batches.add(imageBatch());
            TrainingData data = TrainingData.cycling(batches);
            try (AdamW optimizer = AdamW.builder().build(model)) {
                TrainingLoop loop = new TrainingLoop(model, optimizer, new LearningRateSchedule(1e-2, 10, 300, 0.1),
                        TrainingSettings.builder().setTotalSteps(300).optSeed(1).build());
                Set<NDManager> managers = managers(model, optimizer);
                // A full collection every 10 steps keeps the JVM's heap from growing with garbage between the two
                // readings (by 130 MiB without it, here), so that what the resident memory shows is native memory.
                loop.addListener(report -> {
                    if (report.step() % 10 == 0) {
                        System.gc();
                    }
                });

                loop.train(data, 20);
                int arraysAt20 = ProcessMemory.openArrays(managers);
                loop.train(data, 50);
                OptionalLong residentAt50 = ProcessMemory.residentBytes();
                loop.train(data, 300);
                OptionalLong residentAt300 = ProcessMemory.residentBytes();
                int arraysAt300 = ProcessMemory.openArrays(managers);

                assertEquals(300, loop.state().step());
                assertEquals(arraysAt20, arraysAt300, "open arrays in the model's and optimizer's managers after step"
                        + " 20 and after step 300");
                assumeTrue(residentAt50.isPresent(), "no /proc/self/status: resident memory is not checked here");
                long growth = residentAt300.getAsLong() - residentAt50.getAsLong();
                assertTrue(growth < RESIDENT_GROWTH_BOUND, "resident memory grew by " + growth / MIB
                        + " MiB from step 50 to step 300");
            }
        }
    }

    /** The managers that hold the parameters and the optimizer's state, wherever they sit in the tree. */
    private static Set<NDManager> managers(LlavaModel model, AdamW optimizer) {
        Set<NDManager> managers = new LinkedHashSet<>();
        for (Pair<String, Parameter> parameter : model.getParameters()) {
            managers.add(parameter.getValue().getArray().getManager());
        }
        for (NDArray state : optimizer.exportState().values()) {
            managers.add(state.getManager());
        }
        return managers;
    }

    /** One row with the tiny model's one image (4 image tokens) and labelled text after it. */
    private static TrainingBatch imageBatch() {
        long image = TinyTraining.IMAGE;
        long ignored = EncodedChat.IGNORED_LABEL;
        long[] ids = {1, image, image, image, image, 2, 3, 4};
        long[] labels = {ignored, ignored, ignored, ignored, ignored, 2, 3, 4};
        float[] pixels = new float[3 * 8 * 8];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (float) Math.cos(i);
        }
        return new TrainingBatch(new long[][]{ids}, new long[][]{labels}, new boolean[][]{{true, true, true, true,
                true, true, true, true}}, pixels);
    }
}
