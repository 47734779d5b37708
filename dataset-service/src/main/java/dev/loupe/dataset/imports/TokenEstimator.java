package dev.loupe.dataset.imports;

import java.util.List;

/**
 * Estimates the tokens a record takes in the model's sequence before any tokenizer is at hand. Per turn:
 * {@code tokensPerMessage} for the chat template, the UTF-8 bytes of its text (placeholders left out) divided by
 * {@value ImportLimits#BYTES_PER_TOKEN} and rounded up, and {@code imageTokens} for each image. The text part errs on
 * the long side for English (byte-level BPE averages about 4 bytes per token there) and is close for most other
 * scripts; the tokenizer has the final word at training time.
 */
public final class TokenEstimator {
    private final ImportLimits limits;

    public TokenEstimator(ImportLimits limits) {
        this.limits = limits;
    }

    public long estimate(ImportRecord record) {
        return estimate(record.messages());
    }

    public long estimate(List<Message> messages) {
        long total = 0;
        for (Message message : messages) {
            int images = message.placeholderCount();
            long textBytes = Text.utf8Length(message.content())
                    - (long) images * Message.IMAGE_PLACEHOLDER.length();
            total += limits.tokensPerMessage() + (textBytes + ImportLimits.BYTES_PER_TOKEN - 1)
                    / ImportLimits.BYTES_PER_TOKEN + (long) images * limits.imageTokens();
        }
        return total;
    }
}
