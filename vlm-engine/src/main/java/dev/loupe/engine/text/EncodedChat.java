package dev.loupe.engine.text;

import java.util.Arrays;

/**
 * A conversation as token ids, with which of them the training loss covers.
 *
 * @param inputIds the tokens, images already expanded to their image tokens
 * @param trained true for the tokens the model learns to produce: each assistant turn's content and the end
 *        marker that closes it; false for everything the model is only shown
 * @param imageCount how many images the tokens hold
 */
public record EncodedChat(long[] inputIds, boolean[] trained, int imageCount) {
    /** The label of a token the loss ignores (the Hugging Face convention). */
    public static final long IGNORED_LABEL = -100;

    /** Per position, the token itself where it is trained, {@link #IGNORED_LABEL} elsewhere. */
    public long[] labels() {
        long[] labels = Arrays.copyOf(inputIds, inputIds.length);
        for (int i = 0; i < labels.length; i++) {
            if (!trained[i]) {
                labels[i] = IGNORED_LABEL;
            }
        }
        return labels;
    }

    public int length() {
        return inputIds.length;
    }
}
