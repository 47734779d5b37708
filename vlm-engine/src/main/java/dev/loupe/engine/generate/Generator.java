package dev.loupe.engine.generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import dev.loupe.engine.model.KvCache;
import dev.loupe.engine.model.LlavaModel;

/**
 * Generates continuations of a batch of prompts. Prompts are padded on the left to one length, so every row's
 * next token is at the last position; a finished row goes on with padding that nothing attends to. With the KV
 * cache each step computes only the new token; without it, every step recomputes the whole sequence (kept for
 * checking the cache and for measuring what it saves).
 */
public final class Generator {
    private final LlavaModel model;
    private final long padToken;

    public Generator(LlavaModel model, long padToken) {
        this.model = model;
        this.padToken = padToken;
    }

    /**
     * @param manager the generation's arrays live in a sub-manager of it while it runs, freed before it returns
     * @param prompts token ids of each prompt (images already expanded to image tokens)
     * @param pixels the images of all prompts in order, {@code [I, 3, S, S]}; any shape with I = 0 for none
     * @return the new tokens of each prompt, without the stop token
     */
    public List<long[]> generate(NDManager manager, List<long[]> prompts, NDArray pixels, SamplingSettings settings,
            boolean useCache) {
        int batch = prompts.size();
        int promptLength = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
        long[][] ids = new long[batch][];
        boolean[][] isToken = new boolean[batch][];
        for (int b = 0; b < batch; b++) {
            long[] prompt = prompts.get(b);
            int padding = promptLength - prompt.length;
            ids[b] = new long[promptLength];
            isToken[b] = new boolean[promptLength];
            Arrays.fill(ids[b], 0, padding, padToken);
            System.arraycopy(prompt, 0, ids[b], padding, prompt.length);
            Arrays.fill(isToken[b], padding, promptLength, true);
        }
        List<List<Long>> produced = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            produced.add(new ArrayList<>());
        }
        boolean[] finished = new boolean[batch];
        Random random = new Random(settings.seed());
        // Every array of the generation lives in this sub-manager (the KV cache between steps) or in a step's
        // scratch below it, and the model puts every array of a step into the manager of its inputs: whatever the
        // number of steps, the caller's manager and the model's hold after the call what they held before.
        try (NDManager generation = manager.newSubManager()) {
            ParameterStore store = new ParameterStore(generation, false);
            KvCache cache = useCache ? model.newCache() : null;
            NDArray emptyPixels = generation.zeros(new Shape(0), pixels.getDataType());

            // The first step reads the prompts (and their images); each later step adds one position per row.
            long[][] stepIds = ids;
            boolean[][] stepIsToken = isToken;
            NDArray stepPixels = pixels;
            for (int step = 0; step < settings.maxNewTokens(); step++) {
                NDArray logits;
                try (NDManager scratch = generation.newSubManager()) {
                    NDArray input = scratch.create(flatten(stepIds), new Shape(batch, stepIds[0].length));
                    NDArray all = model.step(store, input, stepIsToken, stepPixels, cache, false);
                    logits = all.get(new NDIndex(":, -1, :")).toType(DataType.FLOAT64, false);
                    if (cache != null) {
                        // The cache outlives the step's scratch arrays.
                        cache.keepIn(generation);
                    }
                    double[] last = logits.toDoubleArray();
                    int vocab = (int) logits.getShape().get(1);
                    long[] next = new long[batch];
                    for (int b = 0; b < batch; b++) {
                        if (finished[b]) {
                            next[b] = padToken;
                            continue;
                        }
                        double[] row = Arrays.copyOfRange(last, b * vocab, (b + 1) * vocab);
                        // The image token stands for image features; produced as text it would mean nothing.
                        row[(int) model.config().imageTokenIndex()] = Double.NEGATIVE_INFINITY;
                        next[b] = Sampling.pick(row, settings, random);
                        if (settings.stopTokens().contains(next[b])) {
                            finished[b] = true;
                        } else {
                            produced.get(b).add(next[b]);
                        }
                    }
                    boolean[][] nextIsToken = new boolean[batch][1];
                    for (int b = 0; b < batch; b++) {
                        // A row that just finished adds its stop token; later it adds padding.
                        nextIsToken[b][0] = next[b] != padToken || !finished[b];
                    }
                    if (allTrue(finished)) {
                        break;
                    }
                    if (useCache) {
                        stepIds = column(next);
                        stepIsToken = nextIsToken;
                        stepPixels = emptyPixels;
                    } else {
                        ids = appendColumn(ids, next);
                        isToken = appendColumn(isToken, nextIsToken);
                        stepIds = ids;
                        stepIsToken = isToken;
                    }
                }
            }
        }
        List<long[]> results = new ArrayList<>();
        for (List<Long> tokens : produced) {
            results.add(tokens.stream().mapToLong(Long::longValue).toArray());
        }
        return results;
    }

    private static long[] flatten(long[][] rows) {
        int length = rows[0].length;
        long[] flat = new long[rows.length * length];
        for (int b = 0; b < rows.length; b++) {
            System.arraycopy(rows[b], 0, flat, b * length, length);
        }
        return flat;
    }

    private static long[][] column(long[] values) {
        long[][] column = new long[values.length][1];
        for (int b = 0; b < values.length; b++) {
            column[b][0] = values[b];
        }
        return column;
    }

    private static long[][] appendColumn(long[][] rows, long[] values) {
        long[][] grown = new long[rows.length][];
        for (int b = 0; b < rows.length; b++) {
            grown[b] = Arrays.copyOf(rows[b], rows[b].length + 1);
            grown[b][rows[b].length] = values[b];
        }
        return grown;
    }

    private static boolean[][] appendColumn(boolean[][] rows, boolean[][] column) {
        boolean[][] grown = new boolean[rows.length][];
        for (int b = 0; b < rows.length; b++) {
            grown[b] = Arrays.copyOf(rows[b], rows[b].length + 1);
            grown[b][rows[b].length] = column[b][0];
        }
        return grown;
    }

    private static boolean allTrue(boolean[] flags) {
        for (boolean flag : flags) {
            if (!flag) {
                return false;
            }
        }
        return true;
    }
}
