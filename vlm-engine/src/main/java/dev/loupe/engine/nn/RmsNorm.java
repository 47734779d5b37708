package dev.loupe.engine.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;

/**
 * Root-mean-square normalisation over the last axis with a learned scale (Llama's {@code RMSNorm}):
 * {@code x / sqrt(mean(x^2) + eps) * weight}.
 *
 * <p>
 * Input {@code [..., C]}; output the same shape. Parameter {@code weight} {@code [C]}, initialised to ones.
 */
public final class RmsNorm extends AbstractBlock {
    private static final byte VERSION = 1;

    private final int width;
    private final double eps;
    private final Parameter weight;

    public RmsNorm(int width, double eps) {
        super(VERSION);
        this.width = width;
        this.eps = eps;
        this.weight = addParameter(Parameter.builder()
                .setName("weight")
                .setType(Parameter.Type.GAMMA)
                .optShape(new Shape(width))
                .optInitializer(Initializer.ONES)
                .build());
    }

    @Override
    protected NDList forwardInternal(ParameterStore parameterStore, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDArray scale = parameterStore.getValue(weight, x.getDevice(), training);
        NDArray meanSquare = x.square().mean(new int[]{-1}, true);
        NDArray normalised = x.div(meanSquare.add(Scalars.of(x, eps)).sqrt());
        return new NDList(normalised.mul(scale));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[]{inputShapes[0]};
    }

    public int width() {
        return width;
    }
}
