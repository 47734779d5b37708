package dev.loupe.serving.inference;

import java.time.Duration;

/**
 * A finished completion.
 *
 * @param finishReason {@code stop} (the model ended its turn or a stop sequence was reached) or {@code length}
 *        (max_tokens or the model's positions ran out; a JSON document cut off there is incomplete)
 * @param promptTokens tokens of the prompt, image tokens included
 * @param timeToFirstToken from the request's arrival to its first token (zero for a cached answer)
 * @param total from the request's arrival to its last token
 * @param cached whether the answer came from the response cache
 */
public record CompletionResult(String text, String finishReason, int promptTokens, int imageTokens,
        int completionTokens, Duration timeToFirstToken, Duration total, boolean cached) {

    /** The same answer, given again from the cache. */
    public CompletionResult fromCache() {
        return new CompletionResult(text, finishReason, promptTokens, imageTokens, completionTokens, Duration.ZERO,
                Duration.ZERO, true);
    }
}
