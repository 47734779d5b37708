package dev.loupe.engine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import java.util.Random;
import java.util.Set;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.loupe.engine.generate.Generator;
import dev.loupe.engine.generate.SamplingSettings;
import dev.loupe.engine.generate.json.JsonConstraint;
import dev.loupe.engine.generate.json.JsonPrefix;
import dev.loupe.engine.generate.json.TokenVocabulary;
import dev.loupe.engine.model.LlavaConfig;
import dev.loupe.engine.model.LlavaModel;
import dev.loupe.engine.model.LoraAdapters;
import dev.loupe.engine.model.LoraSettings;
import dev.loupe.engine.text.ByteLevelBpeTrainer;
import dev.loupe.engine.text.ChatTokenizer;
import dev.loupe.engine.train.AdamW;
import dev.loupe.engine.train.LearningRateSchedule;
import dev.loupe.engine.train.StepReport;
import dev.loupe.engine.train.TrainingBatch;
import dev.loupe.engine.train.TrainingData;
import dev.loupe.engine.train.TrainingLoop;
import dev.loupe.engine.train.TrainingSettings;

/**
 * Prints the engine's speed on this machine: the fp32 matMul ceiling; training tokens/s, achieved GFLOP/s and peak
 * resident memory for full fine-tuning and for LoRA of a small decoder; and generation tokens/s with and without
 * the KV cache for 1, 4 and 16 sequences at 128 new tokens; and the time a JSON-constrained step spends building
 * its mask for a 4,000-token vocabulary. A benchmark, not a test: it asserts nothing, and its name keeps it out of
 * the normal test run: {@code mvn -pl vlm-engine verify -Dtest=EngineBenchmark -Dsurefire.failIfNoSpecifiedTests=false}
 * ({@code -Dtest=EngineBenchmark#jsonMaskTimes} for the masks only).
 */
class EngineBenchmark {
    private static final int NEW_TOKENS = 128;
    private static final int TRAIN_ROWS = 4;
    private static final int TRAIN_LENGTH = 256;
    private static final int WARMUP_STEPS = 2;
    private static final int MEASURED_STEPS = 10;
    private static final LoraSettings LORA = new LoraSettings(8, 16, 0.05f, List.of("q_proj", "k_proj", "v_proj",
            "o_proj", "gate_proj", "up_proj", "down_proj"), false);

    @TempDir
    Path dir;

    @Test
    void printFigures() {
        try (NDManager manager = NDManager.newBaseManager()) {
            double ceiling = matMulCeiling(manager);
            training(manager, ceiling);
            generation(manager);
        }
    }

    /**
     * @return the median over the repetitions, the figure the training runs compare with: on a shared machine
     *         other processes slow some repetitions down, and the median is the one they move least
     */
    private static double matMulCeiling(NDManager manager) {
        int n = 1024;
        NDArray a = manager.randomNormal(new Shape(n, n));
        NDArray b = manager.randomNormal(new Shape(n, n));
        // libtorch's rate climbs over the first products (threads, caches, clocks): one warm-up product measured
        // about 90 GFLOP/s on a 2-core machine that reaches 155 from the tenth on.
        for (int i = 0; i < 10; i++) {
            a.matMul(b).close();
        }
        int reps = 10;
        double[] rates = new double[reps];
        long start = System.nanoTime();
        for (int i = 0; i < reps; i++) {
            long repStart = System.nanoTime();
            a.matMul(b).close();
            rates[i] = 2.0 * n * n * n / ((System.nanoTime() - repStart) / 1e9) / 1e9;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double median = median(rates);
        System.out.printf("fp32 matMul %d^3: %.1f GFLOP/s (median of %d: %.1f)%n", n,
                2.0 * n * n * n * reps / seconds / 1e9, reps, median);
        return median;
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int middle = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /**
     * Full fine-tuning, then LoRA (rank 8 on every attention and MLP projection of the decoder) of a fresh copy of
     * the same model, text only, {@value #TRAIN_ROWS} x {@value #TRAIN_LENGTH} tokens a step. FLOPs per token:
     * {@code 6 N} for full fine-tuning (forward 2N, input and weight gradients 4N), {@code 4 N + 6 N_lora} for LoRA
     * (the frozen weights need the forward and the input gradients, not their own gradients), N counting every
     * parameter of the model, embeddings and the little-used vision tower included.
     */
    private static void training(NDManager manager, double ceiling) {
        LlavaConfig config = new LlavaConfig("llava", 3999, "gelu", -1, "default",
                new LlavaConfig.VisionConfig(32, 64, 1, 2, 8, 4, 1e-5),
                new LlavaConfig.TextConfig("llama", 4000, 512, 1376, 4, 8, 8, 1e-6, 10_000, 1024, false));
        List<TrainingBatch> batches = trainingBatches(config.textConfig().vocabSize() - 1);
        // LoRA first: the smaller run's peak memory is then not the larger one's left-overs. LoRA without dropout
        // too, since drawing the dropout masks is a large part of a LoRA step on the CPU.
        double lora = trainingRun(manager, config, batches, LORA, ceiling);
        double loraWithoutDropout = trainingRun(manager, config, batches, new LoraSettings(LORA.rank(),
                LORA.alpha(), 0f, LORA.targetModules(), LORA.visionEncoder()), ceiling);
        double full = trainingRun(manager, config, batches, null, ceiling);
        System.out.printf("training, LoRA speed-up over full fine-tuning: %.2fx with dropout %s, %.2fx without"
                + " (median step tokens/s)%n", lora / full, LORA.dropout(), loraWithoutDropout / full);
    }

    /**
     * @param lora the adapters to train, or null for full fine-tuning
     * @return the median step's tokens/s
     */
    private static double trainingRun(NDManager parent, LlavaConfig config, List<TrainingBatch> batches,
            LoraSettings lora, double ceiling) {
        boolean peakReset = resetPeakResident();
        OptionalLong residentAtStart = ProcessMemory.residentBytes();
        try (NDManager manager = parent.newSubManager()) {
            Engine.getInstance().setRandomSeed(1);
            LlavaModel model = new LlavaModel(config);
            model.initialize(manager, DataType.FLOAT32, new Shape(1, 16));
            long parameters = parameterCount(model);
            if (lora != null) {
                LoraAdapters.apply(manager, model, lora);
            }
            try (AdamW optimizer = AdamW.builder().build(model)) {
                long trainable = optimizer.parameters()
                        .values()
                        .stream()
                        .mapToLong(p -> p.getArray().size())
                        .sum();
                TrainingLoop loop = new TrainingLoop(model, optimizer, new LearningRateSchedule(1e-4, 0, 100, 1),
                        TrainingSettings.builder().setTotalSteps(WARMUP_STEPS + MEASURED_STEPS).build());
                TrainingData data = TrainingData.cycling(batches);
                loop.train(data, WARMUP_STEPS);
                long start = System.nanoTime();
                List<StepReport> reports = loop.train(data, WARMUP_STEPS + MEASURED_STEPS);
                double seconds = (System.nanoTime() - start) / 1e9;
                long tokens = (long) MEASURED_STEPS * TRAIN_ROWS * TRAIN_LENGTH;
                double meanTokensPerSecond = tokens / seconds;
                // The median step, as for the ceiling: the figure other processes on the machine move least.
                double tokensPerSecond = median(reports.stream().mapToDouble(StepReport::tokensPerSecond).toArray());
                double flopsPerToken = lora != null ? 4.0 * parameters + 6.0 * trainable : 6.0 * parameters;
                double gflops = flopsPerToken * tokensPerSecond / 1e9;
                OptionalLong peakBytes = ProcessMemory.peakResidentBytes();
                String peak = peakBytes.isEmpty()
                        ? "n/a"
                        : (peakBytes.getAsLong() >> 20) + " MiB "
                                + (peakReset
                                        ? "(" + (residentAtStart.orElse(0) >> 20) + " MiB at the run's start)"
                                        : "(the process's, VmHWM could not be reset)");
                System.out.printf("training, %s: %d params (%d trainable), %d x %d tokens/step, median step %.0f"
                        + " tokens/s (mean of %d: %.0f), %.1f GFLOP/s (%s), %.2fx the matMul ceiling, peak RSS %s,"
                        + " loss %.3f -> %.3f%n",
                        lora != null ? "LoRA r" + lora.rank() + ", dropout " + lora.dropout() : "full", parameters,
                        trainable, TRAIN_ROWS,
                        TRAIN_LENGTH,
                        tokensPerSecond, MEASURED_STEPS, meanTokensPerSecond, gflops,
                        lora != null ? "4 N + 6 N_lora per token" : "6 N per token", gflops / ceiling,
                        peak, reports.get(0).loss(), reports.get(reports.size() - 1).loss());
                return tokensPerSecond;
            }
        }
    }

    private static long parameterCount(LlavaModel model) {
        long count = 0;
        for (Pair<String, Parameter> parameter : model.getParameters()) {
            count += parameter.getValue().getArray().size();
        }
        return count;
    }

    /** Rows of random tokens (an image-free corpus), every next token labelled. */
    private static List<TrainingBatch> trainingBatches(int vocabulary) {
        Random random = new Random(7);
        List<TrainingBatch> batches = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            long[][] ids = new long[TRAIN_ROWS][TRAIN_LENGTH];
            for (long[] row : ids) {
                for (int t = 0; t < row.length; t++) {
                    row[t] = 1 + random.nextInt(vocabulary - 1);
                }
            }
            batches.add(TrainingBatch.of(ids, ids));
        }
        return batches;
    }

    /** Resets the kernel's peak resident size (VmHWM) of this process, so that each run reports its own. */
    private static boolean resetPeakResident() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return false;
        }
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

    /**
     * Mask time per step along a document with every kind of value, a free string among them (inside a string
     * almost every token continues, so the trie walk visits most of it), for a byte-level BPE vocabulary of 4,000
     * tokens learned from syllable text and JSON lines.
     */
    @Test
    void jsonMaskTimes() throws IOException {
        Path tokenizerJson = dir.resolve("tokenizer.json");
        ByteLevelBpeTrainer.train(syllableCorpus(), 4000, ChatTokenizer.SPECIAL_TOKENS, tokenizerJson);
        TokenVocabulary vocabulary = TokenVocabulary.fromTokenizerJson(tokenizerJson);
        JsonConstraint constraint = JsonConstraint.of(new ObjectMapper().readTree("""
                {"type": "object", "properties": {
                  "label": {"enum": ["cat", "dog"]},
                  "count": {"type": "integer"},
                  "boxes": {"type": "array", "items": {"type": "number"}, "maxItems": 4},
                  "caption": {"type": "string"}},
                 "required": ["label", "count", "caption"]}"""), vocabulary);
        String document = "{\"label\": \"dog\", \"count\": 12, \"boxes\": [0.5, 13.25, -1e3], \"caption\": \"A grey"
                + " cat sleeps on a red sofa, caf\u00e9-style \ud83d\udc08.\"}";
        long[] tokens;
        Set<Long> stop;
        try (ChatTokenizer tokenizer = ChatTokenizer.load(tokenizerJson, 1)) {
            tokens = tokenizer.text(document);
            stop = Set.of(tokenizer.turnEndTokenId());
        }
        double[] logits = new double[vocabulary.size()];
        int passes = 60;
        int warmup = 10;
        double[] stepMillis = new double[tokens.length + 1];
        for (int pass = 0; pass < passes; pass++) {
            JsonPrefix state = constraint.start();
            for (int step = 0; step <= tokens.length; step++) {
                long start = System.nanoTime();
                constraint.mask(state, logits, stop);
                long nanos = System.nanoTime() - start;
                if (pass >= warmup) {
                    stepMillis[step] += nanos / 1e6 / (passes - warmup);
                }
                if (step < tokens.length) {
                    state = constraint.advance(state, tokens[step]);
                }
            }
        }
        System.out.printf("JSON mask, %d-token vocabulary, %d steps along a %d-byte document: mean %.3f ms/step,"
                + " median %.3f, slowest step %.3f ms (mean of %d passes each)%n", vocabulary.size(),
                stepMillis.length, document.getBytes(StandardCharsets.UTF_8).length,
                Arrays.stream(stepMillis).average().orElseThrow(), median(stepMillis),
                Arrays.stream(stepMillis).max().orElseThrow(),
                passes - warmup);
    }

    /** Words of made-up syllables, skewed so that some are common, and a JSON line after each sentence. */
    private static List<String> syllableCorpus() {
        Random random = new Random(1);
        String[] syllables = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "the", "ing", "er", "on", "an", "st",
                "re", "de", "co", "pro", "ex", "al", "ment", "tion", "ly", "ou", "ch", "sh", "qu", "gr", "bl", "pr"};
        List<String> corpus = new ArrayList<>();
        for (int line = 0; line < 3000; line++) {
            StringBuilder text = new StringBuilder();
            for (int word = 0; word < 12; word++) {
                text.append(' ');
                for (int part = 1 + random.nextInt(3); part > 0; part--) {
                    text.append(syllables[(int) Math.abs(random.nextGaussian() * 8) % syllables.length]);
                }
            }
            corpus.add(text.toString());
            corpus.add("{\"label\": \"cat\", \"count\": " + random.nextInt(1000) + ", \"score\": "
                    + random.nextInt(100) / 100.0 + "}");
        }
        return corpus;
    }
}
