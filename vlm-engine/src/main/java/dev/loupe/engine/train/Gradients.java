package dev.loupe.engine.train;

import java.util.Collection;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;

/**
 * Operations on the gradients of a set of parameters taken together. DJL's own clipping ({@code optClipGrad}) clamps
 * each element; global-norm clipping instead scales all gradients by one factor, which keeps their direction.
 * Every method runs outside a gradient collector and closes the gradient handles it opens: each
 * {@code getGradient()} makes a new one in the parameter's long-lived manager.
 */
public final class Gradients {
    /** Added to the norm before dividing, as PyTorch's {@code clip_grad_norm_} does. */
    static final double NORM_EPSILON = 1e-6;

    private Gradients() {
    }

    /**
     * The L2 norm of all gradients as one vector, summed in at least FP32 so that FP16 squares do not overflow;
     * infinite or NaN if any gradient is.
     */
    public static double globalNorm(Collection<Parameter> parameters) {
        double sumOfSquares = 0;
        try (NDScope scope = new NDScope()) {
            for (Parameter parameter : parameters) {
                NDArray gradient = parameter.getArray().getGradient();
                DataType type = gradient.getDataType() == DataType.FLOAT64 ? DataType.FLOAT64 : DataType.FLOAT32;
                NDArray wide = gradient.toType(type, false);
                sumOfSquares += wide.mul(wide).sum().toType(DataType.FLOAT64, false).getDouble();
            }
        }
        return Math.sqrt(sumOfSquares);
    }

    /** The factor that brings gradients of norm {@code norm} down to {@code maxNorm}, or 1 if they are below. */
    public static double clipFactor(double norm, double maxNorm) {
        return Math.min(1, maxNorm / (norm + NORM_EPSILON));
    }

    /**
     * Scales all gradients by {@code min(1, maxNorm / (norm + 1e-6))}. Gradients that are not finite are left as
     * they are: the returned norm says so.
     *
     * @return the norm before clipping
     */
    public static double clipGlobalNorm(Collection<Parameter> parameters, double maxNorm) {
        double norm = globalNorm(parameters);
        double factor = clipFactor(norm, maxNorm);
        if (Double.isFinite(norm) && factor < 1) {
            scale(parameters, factor);
        }
        return norm;
    }

    /** Multiplies all gradients by a factor, in place. */
    public static void scale(Collection<Parameter> parameters, double factor) {
        try (NDScope scope = new NDScope()) {
            for (Parameter parameter : parameters) {
                NDArray gradient = parameter.getArray().getGradient();
                gradient.muli(gradient.getManager().create(factor).toType(gradient.getDataType(), false));
            }
        }
    }

    /**
     * Sets all gradients to zero, in place: a backward pass adds to them. Filling, not subtracting, so that
     * infinite and NaN gradients are cleared too.
     */
    public static void zero(Collection<Parameter> parameters) {
        try (NDScope scope = new NDScope()) {
            for (Parameter parameter : parameters) {
                parameter.getArray().getGradient().set(new NDIndex("..."), 0);
            }
        }
    }
}
