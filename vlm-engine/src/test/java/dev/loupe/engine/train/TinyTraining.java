package dev.loupe.engine.train;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;

import dev.loupe.engine.model.LlavaConfig;
import dev.loupe.engine.model.LlavaModel;
import dev.loupe.engine.text.EncodedChat;

/** A tiny LLaVA model and a trivially learnable task for the training tests. */
final class TinyTraining {
    static final int VOCAB = 50;
    static final long IMAGE = 49;
    /** Tokens of the counting task: each is followed by the next one, modulo this. */
    static final int COUNT_MODULO = 40;

    private TinyTraining() {
    }

    static LlavaConfig config() {
        return new LlavaConfig("llava", IMAGE, "gelu", -2, "default",
                new LlavaConfig.VisionConfig(12, 20, 2, 2, 8, 4, 1e-5),
                new LlavaConfig.TextConfig("llama", VOCAB, 16, 24, 2, 4, 2, 1e-6, 10_000, 64, false));
    }

    /** A model whose random initialisation depends only on {@code seed}. */
    static LlavaModel model(NDManager manager, DataType type, int seed) {
        Engine.getInstance().setRandomSeed(seed);
        LlavaModel model = new LlavaModel(config());
        model.initialize(manager, type, new Shape(1, 8));
        return model;
    }

    /** Rows counting up from random starts; every token but the first few is labelled. */
    static TrainingBatch countingBatch(Random random, int rows, int length, int unlabelledPrefix) {
        long[][] ids = new long[rows][length];
        long[][] labels = new long[rows][length];
        for (int b = 0; b < rows; b++) {
            int start = random.nextInt(COUNT_MODULO);
            for (int t = 0; t < length; t++) {
                ids[b][t] = (start + t) % COUNT_MODULO;
                labels[b][t] = t < unlabelledPrefix ? EncodedChat.IGNORED_LABEL : ids[b][t];
            }
        }
        return TrainingBatch.of(ids, labels);
    }

    static List<TrainingBatch> countingBatches(long seed, int count, int rows, int length) {
        Random random = new Random(seed);
        List<TrainingBatch> batches = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            batches.add(countingBatch(random, rows, length, 2));
        }
        return batches;
    }

    /** Every parameter's values by DJL name, in FP64 (exact for FP32 and FP16 parameters). */
    static Map<String, double[]> values(LlavaModel model) {
        Map<String, double[]> values = new HashMap<>();
        for (Pair<String, Parameter> parameter : model.getParameters()) {
            values.put(parameter.getKey(),
                    parameter.getValue().getArray().toType(DataType.FLOAT64, false).toDoubleArray());
        }
        return values;
    }
}
