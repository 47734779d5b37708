package dev.loupe.serving.inference;

import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * The text of one completion as its tokens arrive: it ends before the first stop sequence, and for streaming it
 * releases only text that can no longer turn into the start of a stop sequence or into the first half of a
 * character whose bytes are split across tokens.
 */
final class CompletionText {
    private final Function<long[], String> decoder;
    private final List<String> stops;
    private final int holdBack;
    private long[] tokens = new long[0];
    private String text = "";
    private int released;
    private boolean stopped;

    CompletionText(Function<long[], String> decoder, List<String> stops) {
        this.decoder = decoder;
        this.stops = List.copyOf(stops);
        this.holdBack = stops.stream().mapToInt(String::length).max().orElse(1) - 1;
    }

    /**
     * Adds a token.
     *
     * @return false once the text has reached a stop sequence: generation should end
     */
    boolean add(long token) {
        tokens = Arrays.copyOf(tokens, tokens.length + 1);
        tokens[tokens.length - 1] = token;
        String decoded = decoder.apply(tokens);
        int cut = decoded.length();
        for (String stop : stops) {
            int at = decoded.indexOf(stop);
            if (at >= 0 && at < cut) {
                cut = at;
                stopped = true;
            }
        }
        text = decoded.substring(0, cut);
        return !stopped;
    }

    /** Text that is final and not yet released; empty if none. */
    String release() {
        int safe = stopped ? text.length() : Math.max(released, text.length() - holdBack);
        // A token may end inside a multi-byte character: the decoder shows its first half as U+FFFD until the
        // next token completes it.
        while (!stopped && safe > released && text.charAt(safe - 1) == '\uFFFD') {
            safe--;
        }
        String part = text.substring(released, safe);
        released = safe;
        return part;
    }

    /** The rest of the text, at the end of generation. */
    String releaseRest() {
        String part = text.substring(released);
        released = text.length();
        return part;
    }

    boolean stopped() {
        return stopped;
    }

    String text() {
        return text;
    }

    int tokenCount() {
        return tokens.length;
    }
}
