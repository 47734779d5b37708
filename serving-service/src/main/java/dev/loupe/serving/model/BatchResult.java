package dev.loupe.serving.model;

/**
 * One example's answer in a batch.
 *
 * @param position the example's manifest position
 * @param text the answer, or why there is none (finish reason {@code error})
 * @param finishReason {@code stop}, {@code length} or {@code error}
 */
public record BatchResult(long position, String recordId, String recordHash, String text, String finishReason,
        int promptTokens, int imageTokens, int completionTokens) {
    public static final String ERROR = "error";
}
