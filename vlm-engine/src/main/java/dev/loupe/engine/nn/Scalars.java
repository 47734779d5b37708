package dev.loupe.engine.nn;

import ai.djl.ndarray.NDArray;

/** Scalars as zero-dimensional arrays in the manager and data type of the array they meet. */
public final class Scalars {
    private Scalars() {
    }

    /** A scalar that lives as long as {@code like}'s manager, so it outlives the backward pass. */
    public static NDArray of(NDArray like, double value) {
        return like.getManager().create(value).toType(like.getDataType(), false);
    }
}
