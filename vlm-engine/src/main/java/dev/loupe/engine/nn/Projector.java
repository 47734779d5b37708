package dev.loupe.engine.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;

import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * LLaVA's multi-modal projector: {@code linear_2(gelu(linear_1(x)))}, mapping vision features to the decoder's
 * width.
 *
 * <p>
 * Input {@code [B, N, Cv]}; output {@code [B, N, C]}.
 */
public final class Projector extends AbstractBlock {
    private static final byte VERSION = 1;

    private final int width;
    private final AdaptableLinear first;
    private final AdaptableLinear second;

    public Projector(int width) {
        super(VERSION);
        this.width = width;
        this.first = addChildBlock("linear_1", new AdaptableLinear(width, true));
        this.second = addChildBlock("linear_2", new AdaptableLinear(width, true));
    }

    @Override
    protected NDList forwardInternal(ParameterStore parameterStore, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray hidden = first.forward(parameterStore, inputs, training).singletonOrThrow();
        return second.forward(parameterStore, new NDList(Activation.gelu(hidden)), training);
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        first.initialize(manager, dataType, inputShapes);
        Shape x = inputShapes[0];
        second.initialize(manager, dataType, new Shape(x.get(0), x.get(1), width));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape x = inputShapes[0];
        return new Shape[]{new Shape(x.get(0), x.get(1), width)};
    }
}
