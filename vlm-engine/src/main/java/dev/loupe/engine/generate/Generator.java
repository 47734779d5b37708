package dev.loupe.engine.generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import dev.loupe.engine.generate.json.JsonConstraint;
import dev.loupe.engine.model.LlavaModel;

/**
 * Generates continuations of a batch of prompts. Prompts are padded on the left to one length, so every row's
 * next token is at the last position. With the KV cache the rows form a {@link ContinuousBatch}: each step
 * computes only the new tokens and a row that ends leaves the batch; without it, every step recomputes the whole
 * sequence, a finished row going on with padding that nothing attends to (kept for checking the cache and for
 * measuring what it saves). A row may be constrained to a JSON document of a schema
 * ({@link JsonConstraint}): its logits are masked before each pick, and it keeps its own recogniser state.
 */
public final class Generator {
    private final LlavaModel model;
    private final long padToken;

    public Generator(LlavaModel model, long padToken) {
        this.model = model;
        this.padToken = padToken;
    }

    /**
     * Free-text generation: {@link #generate(NDManager, List, NDArray, SamplingSettings, List, boolean)} with no
     * row constrained, returning the tokens only.
     */
    public List<long[]> generate(NDManager manager, List<long[]> prompts, NDArray pixels, SamplingSettings settings,
            boolean useCache) {
        List<Optional<JsonConstraint>> free = Collections.nCopies(prompts.size(), Optional.empty());
        return generate(manager, prompts, pixels, settings, free, useCache).stream().map(Generation::tokens).toList();
    }

    /**
     * Every row with the same settings: {@link #generate(NDManager, List, NDArray, boolean, TokenListener)}.
     *
     * @param constraints per prompt, the JSON document its continuation must be, or empty for free text
     * @return per prompt, the new tokens and why the row ended
     */
    public List<Generation> generate(NDManager manager, List<long[]> prompts, NDArray pixels,
            SamplingSettings settings, List<Optional<JsonConstraint>> constraints, boolean useCache) {
        if (constraints.size() != prompts.size()) {
            throw new IllegalArgumentException("one constraint (or none) per prompt is required");
        }
        List<Request> requests = new ArrayList<>();
        for (int b = 0; b < prompts.size(); b++) {
            requests.add(new Request(prompts.get(b), settings, constraints.get(b)));
        }
        return generate(manager, requests, pixels, useCache, TokenListener.NONE);
    }

    /**
     * One row of a batch: its prompt, how it samples (each row draws from its own random generator seeded with
     * its settings' seed, so what a row produces does not depend on the rows beside it), and optionally the JSON
     * document its continuation must be.
     *
     * @param prompt token ids, images already expanded to image tokens
     * @param constraint a constrained row needs a stop token in its settings to end its document with
     */
    public record Request(long[] prompt, SamplingSettings settings, Optional<JsonConstraint> constraint) {
        public Request {
            if (prompt.length == 0) {
                throw new IllegalArgumentException("a prompt needs at least one token");
            }
            if (settings.stopTokens().isEmpty() && constraint.isPresent()) {
                throw new IllegalArgumentException("a JSON-constrained row needs a stop token to end its document");
            }
        }
    }

    /** Hears each token as it is picked (for streaming), and may end a row there (stop sequences). */
    public interface TokenListener {
        TokenListener NONE = (row, token) -> true;

        /**
         * @param row the request's index in the batch
         * @param token the row's new token (never a stop token)
         * @return false to end the row after this token, as if it had produced a stop token
         */
        boolean onToken(int row, long token);
    }

    /**
     * @param manager the generation's arrays live in a sub-manager of it while it runs, freed before it returns
     * @param pixels the images of all prompts in order, {@code [I, 3, S, S]}; any shape with I = 0 for none
     * @return per request, the new tokens and why the row ended
     */
    public List<Generation> generate(NDManager manager, List<Request> requests, NDArray pixels, boolean useCache,
            TokenListener listener) {
        return useCache
                ? generateWithCache(manager, requests, pixels, listener)
                : generateByRecomputing(manager, requests, pixels, listener);
    }

    /** All rows join one {@link ContinuousBatch} at once, which steps until every row has ended. */
    private List<Generation> generateWithCache(NDManager manager, List<Request> requests, NDArray pixels,
            TokenListener listener) {
        Generation[] results = new Generation[requests.size()];
        List<ContinuousBatch.RowListener> listeners = ContinuousBatch.collecting(listener, results);
        try (ContinuousBatch batch = new ContinuousBatch(manager, model, padToken)) {
            batch.add(requests, listeners, pixels);
            while (batch.size() > 0) {
                batch.step();
            }
        }
        return Arrays.asList(results);
    }

    /**
     * Without a cache: every step runs the whole sequence so far (left-padded prompts and the tokens after them),
     * the reference the cached generation is checked against.
     */
    private List<Generation> generateByRecomputing(NDManager manager, List<Request> requests, NDArray pixels,
            TokenListener listener) {
        int batch = requests.size();
        int promptLength = requests.stream().mapToInt(r -> r.prompt().length).max().orElseThrow();
        int maxSteps = requests.stream().mapToInt(r -> r.settings().maxNewTokens()).max().orElseThrow();
        long[][] ids = new long[batch][];
        boolean[][] isToken = new boolean[batch][];
        for (int b = 0; b < batch; b++) {
            long[] prompt = requests.get(b).prompt();
            int padding = promptLength - prompt.length;
            ids[b] = new long[promptLength];
            isToken[b] = new boolean[promptLength];
            Arrays.fill(ids[b], 0, padding, padToken);
            System.arraycopy(prompt, 0, ids[b], padding, prompt.length);
            Arrays.fill(isToken[b], padding, promptLength, true);
        }
        List<GeneratedRow> rows = requests.stream().map(GeneratedRow::new).toList();
        // Every array of a step lives in its scratch manager, freed after the step: whatever the number of steps,
        // the caller's manager and the model's hold after the call what they held before.
        try (NDManager generation = manager.newSubManager()) {
            ParameterStore store = new ParameterStore(generation, false);
            for (int step = 0; step < maxSteps; step++) {
                try (NDManager scratch = generation.newSubManager()) {
                    NDArray input = scratch.create(flatten(ids), new Shape(batch, ids[0].length));
                    NDArray all = model.step(store, input, isToken, pixels, null, false);
                    NDArray logits = all.get(new NDIndex(":, -1, :")).toType(DataType.FLOAT64, false);
                    double[] last = logits.toDoubleArray();
                    int vocab = (int) logits.getShape().get(1);
                    long[] next = new long[batch];
                    // Whether the row adds a real token at this step: a row that ends here still adds its last
                    // token (or stop token); afterwards it adds padding that nothing attends to.
                    boolean[][] nextIsToken = new boolean[batch][1];
                    for (int b = 0; b < batch; b++) {
                        GeneratedRow row = rows.get(b);
                        if (row.finished()) {
                            next[b] = padToken;
                            continue;
                        }
                        nextIsToken[b][0] = true;
                        int index = b;
                        next[b] = row.pick(Arrays.copyOfRange(last, b * vocab, (b + 1) * vocab),
                                model.config().imageTokenIndex(), token -> listener.onToken(index, token));
                    }
                    if (rows.stream().allMatch(GeneratedRow::finished)) {
                        break;
                    }
                    ids = appendColumn(ids, next);
                    isToken = appendColumn(isToken, nextIsToken);
                }
            }
        }
        return rows.stream().map(GeneratedRow::generation).toList();
    }

    private static long[] flatten(long[][] rows) {
        int length = rows[0].length;
        long[] flat = new long[rows.length * length];
        for (int b = 0; b < rows.length; b++) {
            System.arraycopy(rows[b], 0, flat, b * length, length);
        }
        return flat;
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
}
