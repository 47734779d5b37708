package dev.loupe.engine.train;

import java.util.Arrays;
import java.util.List;

import dev.loupe.engine.text.EncodedChat;

/**
 * A batch of training sequences as plain Java data, so that a data source holds no native memory; the loop makes
 * arrays of it for one forward pass at a time. Rows are padded on the right to one length.
 *
 * @param inputIds {@code [B][T]} token ids, images already expanded to their image tokens
 * @param labels {@code [B][T]} aligned with the inputs: the token itself where the loss covers it,
 *        {@link EncodedChat#IGNORED_LABEL} elsewhere and at every padding position
 * @param isToken {@code [B][T]} true for tokens, false for the padding after them
 * @param pixels the images of all rows in order, {@code [I, 3, S, S]} flattened; empty for none
 */
public record TrainingBatch(long[][] inputIds, long[][] labels, boolean[][] isToken, float[] pixels) {

    public TrainingBatch {
        if (inputIds.length == 0 || labels.length != inputIds.length || isToken.length != inputIds.length) {
            throw new IllegalArgumentException("a batch needs at least one row, and as many label and token rows");
        }
        int length = inputIds[0].length;
        for (int b = 0; b < inputIds.length; b++) {
            if (inputIds[b].length != length || labels[b].length != length || isToken[b].length != length) {
                throw new IllegalArgumentException("row " + b + " is not " + length + " long in ids, labels and "
                        + "token flags");
            }
            for (int t = 0; t < length; t++) {
                if (!isToken[b][t] && labels[b][t] != EncodedChat.IGNORED_LABEL) {
                    throw new IllegalArgumentException("padding at [" + b + "][" + t + "] carries a label");
                }
            }
        }
    }

    /** Rows of only tokens and no images. */
    public static TrainingBatch of(long[][] inputIds, long[][] labels) {
        boolean[][] isToken = new boolean[inputIds.length][];
        for (int b = 0; b < inputIds.length; b++) {
            isToken[b] = new boolean[inputIds[b].length];
            Arrays.fill(isToken[b], true);
        }
        return new TrainingBatch(inputIds, labels, isToken, new float[0]);
    }

    /**
     * Encoded conversations padded on the right with {@code padId} to the longest, labels where each is trained.
     *
     * @param pixels the images of all conversations in order, {@code [I, 3, S, S]} flattened
     */
    public static TrainingBatch fromChats(List<EncodedChat> chats, long padId, float[] pixels) {
        int length = chats.stream().mapToInt(EncodedChat::length).max().orElseThrow();
        long[][] ids = new long[chats.size()][length];
        long[][] labels = new long[chats.size()][length];
        boolean[][] isToken = new boolean[chats.size()][length];
        for (int b = 0; b < chats.size(); b++) {
            EncodedChat chat = chats.get(b);
            Arrays.fill(ids[b], padId);
            Arrays.fill(labels[b], EncodedChat.IGNORED_LABEL);
            System.arraycopy(chat.inputIds(), 0, ids[b], 0, chat.length());
            System.arraycopy(chat.labels(), 0, labels[b], 0, chat.length());
            Arrays.fill(isToken[b], 0, chat.length(), true);
        }
        return new TrainingBatch(ids, labels, isToken, pixels);
    }

    public int size() {
        return inputIds.length;
    }

    public int length() {
        return inputIds[0].length;
    }

    /** How many real tokens (not padding) the batch holds. */
    public long tokenCount() {
        long count = 0;
        for (boolean[] row : isToken) {
            for (boolean token : row) {
                count += token ? 1 : 0;
            }
        }
        return count;
    }
}
