package dev.loupe.engine.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/** Additive attention masks: 0 where a query may look, a large negative number where it may not. */
public final class AttentionMasks {
    /** Large enough to zero a softmax weight, small enough to stay finite in FP32 and FP64. */
    static final double BLOCKED = -1e9;

    private AttentionMasks() {
    }

    /**
     * A causal mask with padding: query {@code t} (at absolute position {@code past + t}) sees key {@code s} when
     * {@code s <= past + t} and key {@code s} is not padding.
     *
     * @param keyIsToken {@code [B][S]}: false for padding positions
     * @param queries T, the positions being computed now (the last T of the S keys)
     * @return {@code [B, 1, T, S]}
     */
    public static NDArray causal(NDManager manager, boolean[][] keyIsToken, int queries, DataType type) {
        int batch = keyIsToken.length;
        int keys = keyIsToken[0].length;
        int past = keys - queries;
        double[] mask = new double[batch * queries * keys];
        for (int b = 0; b < batch; b++) {
            if (keyIsToken[b].length != keys) {
                throw new IllegalArgumentException("every sequence of the batch needs the same key length");
            }
            for (int t = 0; t < queries; t++) {
                for (int s = 0; s < keys; s++) {
                    boolean visible = s <= past + t && keyIsToken[b][s];
                    mask[(b * queries + t) * keys + s] = visible ? 0 : BLOCKED;
                }
            }
        }
        return manager.create(mask, new Shape(batch, 1, queries, keys)).toType(type, false);
    }
}
