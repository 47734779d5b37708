package dev.loupe.engine.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Rotary position embeddings as Hugging Face's Llama applies them ("rotate half": the first and second halves of
 * each head's vector form the pairs that rotate), so that weights trained there mean the same here.
 */
public final class RotaryEmbedding {
    private RotaryEmbedding() {
    }

    /**
     * The cosines and sines for the given positions: two constant arrays {@code [T, D]} (no gradient).
     *
     * @param positions absolute positions of the T tokens (offset by the cache length while generating)
     * @param theta the base, e.g. 10,000
     */
    public static NDList cosSin(NDManager manager, long[] positions, int headDim, double theta, DataType type) {
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("headDim must be even: " + headDim);
        }
        int half = headDim / 2;
        double[] cos = new double[positions.length * headDim];
        double[] sin = new double[positions.length * headDim];
        for (int t = 0; t < positions.length; t++) {
            for (int i = 0; i < half; i++) {
                double angle = positions[t] * Math.pow(theta, -2.0 * i / headDim);
                cos[t * headDim + i] = Math.cos(angle);
                cos[t * headDim + half + i] = Math.cos(angle);
                sin[t * headDim + i] = Math.sin(angle);
                sin[t * headDim + half + i] = Math.sin(angle);
            }
        }
        Shape shape = new Shape(positions.length, headDim);
        return new NDList(manager.create(cos, shape).toType(type, false), manager.create(sin, shape).toType(type,
                false));
    }

    /**
     * The cosines and sines for each row's own positions (rows of a batch padded on the left start at different
     * offsets): two constant arrays {@code [B, 1, T, D]}, which broadcast over the heads.
     */
    public static NDList cosSin(NDManager manager, long[][] positions, int headDim, double theta, DataType type) {
        int batch = positions.length;
        int length = positions[0].length;
        long[] flat = new long[batch * length];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(positions[b], 0, flat, b * length, length);
        }
        NDList rows = cosSin(manager, flat, headDim, theta, type);
        Shape shape = new Shape(batch, 1, length, headDim);
        return new NDList(rows.get(0).reshape(shape), rows.get(1).reshape(shape));
    }

    /**
     * Rotates {@code x} {@code [B, H, T, D]} by its positions' angles; {@code cos} and {@code sin} {@code [T, D]}
     * or {@code [B, 1, T, D]}.
     */
    public static NDArray apply(NDArray x, NDArray cos, NDArray sin) {
        long half = x.getShape().get(x.getShape().dimension() - 1) / 2;
        NDArray first = x.get(new NDIndex("..., :{}", half));
        NDArray second = x.get(new NDIndex("..., {}:", half));
        NDArray rotated = NDArrays.concat(new NDList(second.neg(), first), -1);
        return x.mul(cos).add(rotated.mul(sin));
    }
}
