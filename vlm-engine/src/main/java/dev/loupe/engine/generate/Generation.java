package dev.loupe.engine.generate;

/**
 * One prompt's continuation.
 *
 * @param tokens the new tokens, without the stop token
 * @param finish why the row ended
 */
public record Generation(long[] tokens, Finish finish) {

    /** Why a row ended. */
    public enum Finish {
        /** The row produced a stop token; a JSON-constrained row holds a complete, valid document. */
        STOP,
        /** The row used up {@code maxNewTokens}; free text is cut off there, a constrained document is complete. */
        LENGTH,
        /**
         * The row used up {@code maxNewTokens} before its JSON document was complete: the text is a valid prefix,
         * not a valid document.
         */
        INCOMPLETE_JSON
    }
}
