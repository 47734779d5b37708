package dev.loupe.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import dev.loupe.engine.generate.Generator;
import dev.loupe.engine.generate.SamplingSettings;
import dev.loupe.engine.model.LlavaConfig;
import dev.loupe.engine.model.LlavaModel;

/**
 * Prints the engine's speed on this machine: the fp32 matMul ceiling, and generation tokens/s with and without
 * the KV cache for 1, 4 and 16 sequences at 128 new tokens. A benchmark, not a test: it asserts nothing, and its
 * name keeps it out of the normal test run:
 * {@code mvn -pl vlm-engine verify -Dtest=EngineBenchmark -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class EngineBenchmark {
    private static final int NEW_TOKENS = 128;

    @Test
    void printFigures() {
        try (NDManager manager = NDManager.newBaseManager()) {
            matMulCeiling(manager);
            generation(manager);
        }
    }

    private static void matMulCeiling(NDManager manager) {
        int n = 1024;
        NDArray a = manager.randomNormal(new Shape(n, n));
        NDArray b = manager.randomNormal(new Shape(n, n));
        a.matMul(b).close();
        int reps = 10;
        long start = System.nanoTime();
        for (int i = 0; i < reps; i++) {
            a.matMul(b).close();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("fp32 matMul %d^3: %.1f GFLOP/s%n", n, 2.0 * n * n * n * reps / seconds / 1e9);
    }

    private static void generation(NDManager manager) {
        // About the size of the tiny base model: a 256-wide, 4-layer decoder and a small vision tower.
        LlavaConfig config = new LlavaConfig("llava", 1999, "gelu", -2, "default",
                new LlavaConfig.VisionConfig(128, 256, 3, 4, 64, 8, 1e-5),
                new LlavaConfig.TextConfig("llama", 2000, 256, 688, 4, 8, 4, 1e-6, 10_000, 1024, false));
        LlavaModel model = new LlavaModel(config);
        model.initialize(manager, DataType.FLOAT32, new Shape(1, 16));
        Generator generator = new Generator(model, 0);
        SamplingSettings settings = SamplingSettings.greedy(NEW_TOKENS, Set.of());
        NDArray noImages = manager.zeros(new Shape(0));
        for (int sequences : new int[]{1, 4, 16}) {
            List<long[]> prompts = new ArrayList<>();
            for (int s = 0; s < sequences; s++) {
                long[] prompt = new long[32 + s];
                for (int i = 0; i < prompt.length; i++) {
                    prompt[i] = 1 + (i * 7 + s) % 1900;
                }
                prompts.add(prompt);
            }
            generator.generate(manager, prompts, noImages, SamplingSettings.greedy(4, Set.of()), true);
            double cached = tokensPerSecond(generator, manager, prompts, noImages, settings, true);
            double recomputed = tokensPerSecond(generator, manager, prompts, noImages, settings, false);
            System.out.printf("generation, %2d sequences x %d new tokens: cached %.0f tokens/s, recomputed %.0f"
                    + " tokens/s, cache speed-up %.1fx%n", sequences, NEW_TOKENS, cached, recomputed,
                    cached / recomputed);
        }
    }

    private static double tokensPerSecond(Generator generator, NDManager manager, List<long[]> prompts,
            NDArray pixels, SamplingSettings settings, boolean cache) {
        try (NDManager run = manager.newSubManager()) {
            long start = System.nanoTime();
            List<long[]> out = generator.generate(run, prompts, pixels, settings, cache);
            double seconds = (System.nanoTime() - start) / 1e9;
            return out.stream().mapToInt(tokens -> tokens.length).sum() / seconds;
        }
    }
}
