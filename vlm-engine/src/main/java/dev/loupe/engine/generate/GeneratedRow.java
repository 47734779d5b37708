package dev.loupe.engine.generate;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import dev.loupe.engine.generate.json.JsonConstraint;
import dev.loupe.engine.generate.json.JsonPrefix;

/**
 * One row being generated: how it samples (its own random generator, seeded by its settings), its JSON document's
 * recogniser state when constrained, the tokens it produced and why it ended. Both ways of generating (the
 * continuous batch and the recomputing reference) pick each row's tokens here.
 */
final class GeneratedRow {
    private final Generator.Request request;
    private final Random random;
    private final JsonConstraint rule;
    private final List<Long> produced = new ArrayList<>();
    private JsonPrefix document;
    private long last;
    private boolean finished;
    private boolean stopped;

    GeneratedRow(Generator.Request request) {
        this.request = request;
        this.random = new Random(request.settings().seed());
        this.rule = request.constraint().orElse(null);
        this.document = rule == null ? null : rule.start();
    }

    /**
     * Picks the row's next token from the logits of its last position.
     *
     * @param scores the row's logits; changed in place (masks)
     * @param imageToken never picked: as text it would mean nothing
     * @param onToken hears the token unless it is a stop token; false ends the row after it
     * @return the token picked (a stop token ends the row and is not produced)
     */
    long pick(double[] scores, long imageToken, java.util.function.LongPredicate onToken) {
        SamplingSettings settings = request.settings();
        scores[(int) imageToken] = Double.NEGATIVE_INFINITY;
        if (rule != null) {
            rule.mask(document, scores, settings.stopTokens());
        }
        long next = Sampling.pick(scores, settings, random);
        if (settings.stopTokens().contains(next)) {
            finished = true;
            stopped = true;
            return next;
        }
        produced.add(next);
        last = next;
        if (rule != null) {
            document = rule.advance(document, next);
        }
        if (!onToken.test(next)) {
            finished = true;
            stopped = true;
        } else if (produced.size() >= settings.maxNewTokens()) {
            finished = true;
        }
        return next;
    }

    Generator.Request request() {
        return request;
    }

    /** The last token produced: the row's input at the next step. */
    long last() {
        return last;
    }

    boolean finished() {
        return finished;
    }

    /** The tokens and why the row ended. */
    Generation generation() {
        long[] tokens = produced.stream().mapToLong(Long::longValue).toArray();
        if (stopped) {
            return new Generation(tokens, Generation.Finish.STOP);
        }
        if (document != null && !document.canEnd()) {
            return new Generation(tokens, Generation.Finish.INCOMPLETE_JSON);
        }
        return new Generation(tokens, Generation.Finish.LENGTH);
    }
}
