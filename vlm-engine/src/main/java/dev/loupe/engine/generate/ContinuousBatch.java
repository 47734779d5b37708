package dev.loupe.engine.generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import dev.loupe.engine.model.KvCache;
import dev.loupe.engine.model.LlavaModel;

/**
 * A batch that sequences join and leave while it runs (continuous batching). {@link #add} reads new rows' prompts
 * in a pass of their own and puts their keys and values beside the running rows' in the KV cache (the shorter
 * history padded on the left with positions that attention skips and positions do not count); each
 * {@link #step} then generates one token for every row, and a row that ends leaves the cache at once. A row's
 * tokens do not depend on the rows beside it or on when it joined: positions count a row's own tokens, masks hide
 * every other position, and each row samples with its own random generator.
 *
 * <p>
 * Not thread-safe: one thread adds and steps. Arrays live in a sub-manager of the manager given, freed by
 * {@link #close}.
 */
public final class ContinuousBatch implements AutoCloseable {
    /** Hears one row's tokens and its end. */
    public interface RowListener {
        /**
         * @param token the row's new token (never a stop token)
         * @return false to end the row after this token, as if it had produced a stop token
         */
        boolean onToken(long token);

        void onFinish(Generation generation);
    }

    /**
     * Listeners for the rows of a batch generated to its end: they pass each row's tokens to {@code listener} (with
     * the row's index) and put each row's end in {@code results}, at the row's index.
     */
    public static List<RowListener> collecting(Generator.TokenListener listener, Generation[] results) {
        List<RowListener> listeners = new ArrayList<>();
        for (int b = 0; b < results.length; b++) {
            int row = b;
            listeners.add(new RowListener() {
                @Override
                public boolean onToken(long token) {
                    return listener.onToken(row, token);
                }

                @Override
                public void onFinish(Generation generation) {
                    results[row] = generation;
                }
            });
        }
        return listeners;
    }

    private final LlavaModel model;
    private final long padToken;
    private final NDManager manager;
    private final ParameterStore store;
    private final KvCache cache;
    private final List<Row> rows = new ArrayList<>();
    private final DataType dataType;

    private record Row(GeneratedRow state, RowListener listener) {
    }

    public ContinuousBatch(NDManager manager, LlavaModel model, long padToken) {
        this.model = model;
        this.padToken = padToken;
        this.manager = manager.newSubManager();
        this.store = new ParameterStore(this.manager, false);
        this.cache = model.newCache();
        this.dataType = model.getParameters().get("embed_tokens").getArray().getDataType();
    }

    /** Rows generating. */
    public int size() {
        return rows.size();
    }

    /**
     * Reads the new rows' prompts and picks each one's first token; they then step with the others.
     *
     * @param pixels the images of the new rows' prompts in order, {@code [I, 3, S, S]}; any shape with I = 0 for
     *        none
     */
    public void add(List<Generator.Request> requests, List<RowListener> listeners, NDArray pixels) {
        if (requests.size() != listeners.size()) {
            throw new IllegalArgumentException("one listener per request is required");
        }
        if (requests.isEmpty()) {
            return;
        }
        int batch = requests.size();
        int length = requests.stream().mapToInt(r -> r.prompt().length).max().orElseThrow();
        long[] ids = new long[batch * length];
        boolean[][] isToken = new boolean[batch][length];
        Arrays.fill(ids, padToken);
        for (int b = 0; b < batch; b++) {
            long[] prompt = requests.get(b).prompt();
            int padding = length - prompt.length;
            System.arraycopy(prompt, 0, ids, b * length + padding, prompt.length);
            Arrays.fill(isToken[b], padding, length, true);
        }
        List<Row> joining = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            joining.add(new Row(new GeneratedRow(requests.get(b)), listeners.get(b)));
        }
        KvCache prompts = model.newCache();
        try (NDManager scratch = manager.newSubManager()) {
            NDArray input = scratch.create(ids, new Shape(batch, length));
            NDArray logits = model.step(store, input, isToken, pixels, prompts, false);
            // The new rows' keys and values outlive the pass's scratch arrays.
            prompts.keepIn(manager);
            pick(joining, logits);
        }
        cache.appendRows(prompts);
        rows.addAll(joining);
        dropFinished();
    }

    /** One token for every row; rows that end leave the batch. */
    public void step() {
        if (rows.isEmpty()) {
            return;
        }
        int batch = rows.size();
        long[] ids = new long[batch];
        boolean[][] isToken = new boolean[batch][1];
        for (int b = 0; b < batch; b++) {
            ids[b] = rows.get(b).state().last();
            isToken[b][0] = true;
        }
        try (NDManager scratch = manager.newSubManager()) {
            NDArray input = scratch.create(ids, new Shape(batch, 1));
            NDArray noPixels = scratch.zeros(new Shape(0), dataType);
            NDArray logits = model.step(store, input, isToken, noPixels, cache, false);
            cache.keepIn(manager);
            pick(rows, logits);
        }
        dropFinished();
    }

    /** Picks each row's next token from the logits of its last position, {@code [B, T, V]}. */
    private void pick(List<Row> batch, NDArray logits) {
        NDArray last = logits.get(new NDIndex(":, -1, :")).toType(DataType.FLOAT64, false);
        double[] values = last.toDoubleArray();
        int vocab = (int) last.getShape().get(1);
        for (int b = 0; b < batch.size(); b++) {
            Row row = batch.get(b);
            row.state().pick(Arrays.copyOfRange(values, b * vocab, (b + 1) * vocab), model.config().imageTokenIndex(),
                    row.listener()::onToken);
        }
    }

    private void dropFinished() {
        List<Integer> kept = new ArrayList<>();
        List<Row> ended = new ArrayList<>();
        for (int b = 0; b < rows.size(); b++) {
            if (rows.get(b).state().finished()) {
                ended.add(rows.get(b));
            } else {
                kept.add(b);
            }
        }
        if (ended.isEmpty()) {
            return;
        }
        cache.keepRows(kept.stream().mapToInt(Integer::intValue).toArray());
        cache.trim();
        rows.removeIf(row -> row.state().finished());
        for (Row row : ended) {
            row.listener().onFinish(row.state().generation());
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
