package dev.loupe.engine.generate;

import java.nio.DoubleBuffer;
import java.util.List;
import java.util.Random;
import java.util.Set;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.loupe.engine.ProcessMemory;
import dev.loupe.engine.model.LlavaConfig;
import dev.loupe.engine.model.LlavaModel;
import dev.loupe.engine.model.LoraAdapters;
import dev.loupe.engine.model.LoraSettings;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Generation with the KV cache equals recomputation, token for token, for a batch of different prompts. */
class GeneratorTest {
    private static final long IMAGE = 49;
    private static final long PAD = 0;

    private NDManager manager;
    private LlavaModel model;
    private NDArray pixels;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
        model = new LlavaModel(new LlavaConfig("llava", IMAGE, "gelu", -2, "default",
                new LlavaConfig.VisionConfig(12, 20, 2, 2, 8, 4, 1e-5),
                new LlavaConfig.TextConfig("llama", 50, 16, 24, 2, 4, 2, 1e-6, 10_000, 64, false)));
        // Float64, so that cached and recomputed logits agree far below any gap between two tokens.
        model.initialize(manager, DataType.FLOAT64, new Shape(1, 4));
        Random random = new Random(3);
        for (Pair<String, Parameter> parameter : model.getParameters()) {
            NDArray array = parameter.getValue().getArray();
            double[] values = new double[(int) array.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = random.nextGaussian() * 0.4;
            }
            array.set(DoubleBuffer.wrap(values));
        }
        double[] image = new double[3 * 8 * 8];
        for (int i = 0; i < image.length; i++) {
            image[i] = Math.cos(i);
        }
        pixels = manager.create(image, new Shape(1, 3, 8, 8));
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private static final List<long[]> PROMPTS = List.of(new long[]{5, IMAGE, IMAGE, IMAGE, IMAGE, 6, 7},
            new long[]{8, 9});

    @Test
    void greedyWithTheCacheEqualsRecomputation() {
        Generator generator = new Generator(model, PAD);
        SamplingSettings greedy = SamplingSettings.greedy(12, Set.of());
        List<long[]> cached = generator.generate(manager, PROMPTS, pixels, greedy, true);
        List<long[]> recomputed = generator.generate(manager, PROMPTS, pixels, greedy, false);
        assertEquals(12, cached.get(0).length);
        for (int b = 0; b < PROMPTS.size(); b++) {
            assertArrayEquals(recomputed.get(b), cached.get(b), "row " + b);
        }
    }

    @Test
    void aPromptAloneContinuesAsInTheBatch() {
        Generator generator = new Generator(model, PAD);
        SamplingSettings greedy = SamplingSettings.greedy(8, Set.of());
        List<long[]> batched = generator.generate(manager, PROMPTS, pixels, greedy, true);
        List<long[]> alone = generator.generate(manager, List.of(PROMPTS.get(1)), manager.zeros(new Shape(0)),
                greedy, true);
        assertArrayEquals(alone.get(0), batched.get(1), "left padding must not change a prompt's continuation");
    }

    @Test
    void samplingIsReproducibleAndCacheIndependent() {
        Generator generator = new Generator(model, PAD);
        SamplingSettings sampled = new SamplingSettings(10, 1.3, 20, 0.9, 42, Set.of());
        List<long[]> first = generator.generate(manager, PROMPTS, pixels, sampled, true);
        List<long[]> again = generator.generate(manager, PROMPTS, pixels, sampled, true);
        List<long[]> recomputed = generator.generate(manager, PROMPTS, pixels, sampled, false);
        for (int b = 0; b < PROMPTS.size(); b++) {
            assertArrayEquals(first.get(b), again.get(b));
            assertArrayEquals(first.get(b), recomputed.get(b));
        }
        SamplingSettings otherSeed = new SamplingSettings(10, 1.3, 20, 0.9, 43, Set.of());
        List<long[]> other = generator.generate(manager, PROMPTS, pixels, otherSeed, true);
        assertTrue(!java.util.Arrays.equals(first.get(0), other.get(0))
                || !java.util.Arrays.equals(first.get(1), other.get(1)), "another seed samples something else");
    }

    @Test
    void aStopTokenEndsItsRowOnly() {
        Generator generator = new Generator(model, PAD);
        List<long[]> free = generator.generate(manager, PROMPTS, pixels, SamplingSettings.greedy(6, Set.of()), true);
        long stop = free.get(0)[2];
        List<long[]> stopped = generator.generate(manager, PROMPTS, pixels, SamplingSettings.greedy(6, Set.of(stop)),
                true);
        assertArrayEquals(java.util.Arrays.copyOf(free.get(0), firstIndex(free.get(0), stop)), stopped.get(0));
        int otherStop = firstIndex(free.get(1), stop);
        assertArrayEquals(java.util.Arrays.copyOf(free.get(1), otherStop), stopped.get(1));
    }

    /**
     * Nothing a generation step makes outlives it: after 20 and after 200 cached steps the manager that holds the
     * model (and here the caller's arrays too) holds exactly what it held before. Adapters on every projection of
     * both towers and an image in the prompts, so that every path from a parameter to an array runs.
     */
    @Test
    void twoHundredCachedStepsLeaveNoArrayBehind() {
        LoraAdapters.apply(manager, model, new LoraSettings(2, 4, 0, List.of("q_proj", "k_proj", "v_proj", "o_proj",
                "out_proj", "gate_proj", "up_proj", "down_proj", "fc1", "fc2"), true));
        Generator generator = new Generator(model, PAD);
        int before = ProcessMemory.openArrays(List.of(manager));

        generator.generate(manager, PROMPTS, pixels, SamplingSettings.greedy(20, Set.of()), true);
        int after20 = ProcessMemory.openArrays(List.of(manager));
        List<long[]> long200 = generator.generate(manager, PROMPTS, pixels, SamplingSettings.greedy(200, Set.of()),
                true);
        int after200 = ProcessMemory.openArrays(List.of(manager));

        assertEquals(200, long200.get(0).length, "no stop token: every step ran");
        assertEquals(after20, after200, "open arrays after 20 and after 200 generation steps");
        assertEquals(before, after20, "open arrays before and after a generation");
    }

    private static int firstIndex(long[] tokens, long token) {
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] == token) {
                return i;
            }
        }
        return tokens.length;
    }
}
