package dev.loupe.engine.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Puts the arrays a forward pass makes from longer-lived arrays (parameters, a KV cache, a caller's images) with
 * the pass's other arrays, in the manager of its input.
 *
 * <p>
 * A DJL op's result belongs to the manager of the array the op is called on. An op called on a parameter (a
 * transpose, a reshape) therefore leaves its result in the model's manager, which lives as long as the model: a
 * caller that frees each pass by closing the manager of its inputs (the generator, a server) would leave one or
 * more such arrays per layer behind at every call, and the model's manager would grow without bound. Attaching a
 * result changes only which manager closes its Java handle: the native tensor (for a transpose or a reshape, a view
 * of the parameter's memory) and its place in the autograd graph stay as they are, so values and gradients are
 * unchanged, and the graph keeps its own reference to what the backward pass reads.
 */
public final class Placement {
    private Placement() {
    }

    /** {@code parameter^T} (all axes reversed), in the manager of {@code input}. */
    public static NDArray transposed(NDArray parameter, NDArray input) {
        return withInput(parameter.transpose(), parameter, input);
    }

    /** {@code parameter} seen with another shape, in the manager of {@code input}. */
    public static NDArray reshaped(NDArray parameter, NDArray input, long... shape) {
        return withInput(parameter.reshape(new Shape(shape)), parameter, input);
    }

    /**
     * Moves {@code made}, an array the pass computed from the longer-lived {@code source}, into the manager of
     * {@code input}.
     *
     * @throws IllegalArgumentException if {@code made} is {@code source} itself (some DJL ops return their array
     *         unchanged): moving it would close a parameter or a cache with the pass
     */
    public static NDArray withInput(NDArray made, NDArray source, NDArray input) {
        if (made == source) {
            throw new IllegalArgumentException("the op returned its own array, which must stay where it lives");
        }
        made.attach(input.getManager());
        return made;
    }
}
