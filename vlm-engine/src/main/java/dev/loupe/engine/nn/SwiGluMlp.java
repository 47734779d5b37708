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
 * Llama's gated MLP: {@code down(silu(gate(x)) * up(x))}, without biases.
 *
 * <p>
 * Input {@code [B, T, C]}; output {@code [B, T, C]}. Children {@code gate_proj} and {@code up_proj}
 * {@code [F, C]}, {@code down_proj} {@code [C, F]}.
 */
public final class SwiGluMlp extends AbstractBlock {
    private static final byte VERSION = 1;

    private final int hidden;
    private final AdaptableLinear gate;
    private final AdaptableLinear up;
    private final AdaptableLinear down;

    public SwiGluMlp(int width, int hidden) {
        super(VERSION);
        this.hidden = hidden;
        this.gate = addChildBlock("gate_proj", new AdaptableLinear(hidden, false));
        this.up = addChildBlock("up_proj", new AdaptableLinear(hidden, false));
        this.down = addChildBlock("down_proj", new AdaptableLinear(width, false));
    }

    @Override
    protected NDList forwardInternal(ParameterStore parameterStore, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray gated = gate.forward(parameterStore, inputs, training).singletonOrThrow();
        NDArray opened = up.forward(parameterStore, inputs, training).singletonOrThrow();
        // silu(g) = g * sigmoid(g); DJL's swish multiplies by a Java scalar, which breaks gradients.
        NDArray activated = gated.mul(Activation.sigmoid(gated)).mul(opened);
        return down.forward(parameterStore, new NDList(activated), training);
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape x = inputShapes[0];
        gate.initialize(manager, dataType, x);
        up.initialize(manager, dataType, x);
        down.initialize(manager, dataType, new Shape(x.get(0), x.get(1), hidden));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[]{inputShapes[0]};
    }
}
