package dev.loupe.engine.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import dev.loupe.engine.nn.Scalars;
import dev.loupe.engine.text.EncodedChat;

/**
 * The next-token cross-entropy of a causal language model: position {@code t} predicts the token at
 * {@code t + 1}, and only positions whose next token carries a label (not {@link EncodedChat#IGNORED_LABEL}) count.
 * Labels are aligned with the inputs, as Hugging Face's are; the shift happens here.
 *
 * <p>
 * Only the counted positions' rows of the logits enter the log-softmax: prompts are often most of a sequence, and
 * whatever the other rows hold (even NaN) cannot reach the loss. The log-softmax ({@code log_softmax}, which
 * subtracts the row's maximum) runs in FP32 at least; FP16 logits are widened by adding an FP32 zero, because
 * DJL's {@code toType} cuts the array from the autograd graph.
 */
public final class CausalLmLoss {
    private CausalLmLoss() {
    }

    /** How many positions the loss counts: those whose next token is labelled. */
    public static long labelledTargets(long[][] labels) {
        long count = 0;
        for (long[] row : labels) {
            for (int t = 1; t < row.length; t++) {
                count += row[t] == EncodedChat.IGNORED_LABEL ? 0 : 1;
            }
        }
        return count;
    }

    /**
     * The sum over counted positions of {@code -log p(next token)}.
     *
     * @param logits {@code [B, T, V]}
     * @param labels {@code [B][T]}, aligned with the inputs
     * @return a scalar in FP32 (FP64 for FP64 logits), 0 without gradient if no position counts
     */
    public static NDArray summed(NDArray logits, long[][] labels) {
        Shape shape = logits.getShape();
        int batch = (int) shape.get(0);
        int length = (int) shape.get(1);
        long vocabulary = shape.get(2);
        if (labels.length != batch || (batch > 0 && labels[0].length != length)) {
            throw new IllegalArgumentException("labels must be [" + batch + "][" + length + "] like the logits");
        }
        int count = Math.toIntExact(labelledTargets(labels));
        long[] rows = new long[count];
        long[] targets = new long[count];
        int next = 0;
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t + 1 < length; t++) {
                long label = labels[b][t + 1];
                if (label == EncodedChat.IGNORED_LABEL) {
                    continue;
                }
                if (label < 0 || label >= vocabulary) {
                    throw new IllegalArgumentException("label " + label + " at [" + b + "][" + (t + 1)
                            + "] is outside the vocabulary of " + vocabulary);
                }
                rows[next] = (long) b * length + t;
                targets[next] = label;
                next++;
            }
        }
        NDManager manager = logits.getManager();
        DataType wide = logits.getDataType() == DataType.FLOAT64 ? DataType.FLOAT64 : DataType.FLOAT32;
        if (count == 0) {
            return manager.zeros(new Shape(), wide);
        }
        NDArray picked = logits.reshape(-1, vocabulary).get(manager.create(rows));
        if (picked.getDataType() != wide) {
            picked = picked.add(manager.zeros(new Shape(1), wide));
        }
        return picked.logSoftmax(1).gather(manager.create(targets, new Shape(count, 1)), 1).sum().neg();
    }

    /** The mean over counted positions of {@code -log p(next token)}; NaN if no position counts. */
    public static NDArray mean(NDArray logits, long[][] labels) {
        NDArray sum = summed(logits, labels);
        return sum.div(Scalars.of(sum, labelledTargets(labels)));
    }
}
