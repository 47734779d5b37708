package dev.loupe.serving.inference;

/**
 * A finished completion.
 *
 * @param finishReason {@code stop} (the model ended its turn or a stop sequence was reached) or {@code length}
 *        (max_tokens or the model's positions ran out; a JSON document cut off there is incomplete)
 * @param promptTokens tokens of the prompt, image tokens included
 */
public record CompletionResult(String text, String finishReason, int promptTokens, int imageTokens,
        int completionTokens) {
}
