package dev.loupe.engine.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;

import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * One pre-norm CLIP vision transformer layer: {@code h = x + attn(ln1(x))}, {@code out = h + mlp(ln2(h))}, with
 * full (not causal) multi-head attention, biases everywhere, and quick-GELU ({@code x * sigmoid(1.702 x)}) in the
 * MLP, as CLIP's vision tower computes it.
 *
 * <p>
 * Input {@code [B, N, C]}; output {@code [B, N, C]}. Children named as in Hugging Face's CLIP:
 * {@code layer_norm1}, {@code q_proj}, {@code k_proj}, {@code v_proj}, {@code out_proj}, {@code layer_norm2},
 * {@code fc1}, {@code fc2}.
 */
public final class VisionLayer extends AbstractBlock {
    private static final byte VERSION = 1;
    private static final double QUICK_GELU = 1.702;

    private final int heads;
    private final int width;
    private final int mlpHidden;
    private final LayerNorm norm1;
    private final AdaptableLinear query;
    private final AdaptableLinear key;
    private final AdaptableLinear value;
    private final AdaptableLinear output;
    private final LayerNorm norm2;
    private final AdaptableLinear fc1;
    private final AdaptableLinear fc2;

    public VisionLayer(int width, int heads, int mlpHidden, float normEps) {
        super(VERSION);
        if (width % heads != 0) {
            throw new IllegalArgumentException("width must be a multiple of heads");
        }
        this.width = width;
        this.heads = heads;
        this.mlpHidden = mlpHidden;
        this.norm1 = addChildBlock("layer_norm1", LayerNorm.builder().axis(2).optEpsilon(normEps).build());
        this.query = addChildBlock("q_proj", new AdaptableLinear(width, true));
        this.key = addChildBlock("k_proj", new AdaptableLinear(width, true));
        this.value = addChildBlock("v_proj", new AdaptableLinear(width, true));
        this.output = addChildBlock("out_proj", new AdaptableLinear(width, true));
        this.norm2 = addChildBlock("layer_norm2", LayerNorm.builder().axis(2).optEpsilon(normEps).build());
        this.fc1 = addChildBlock("fc1", new AdaptableLinear(mlpHidden, true));
        this.fc2 = addChildBlock("fc2", new AdaptableLinear(width, true));
    }

    @Override
    protected NDList forwardInternal(ParameterStore parameterStore, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDArray normed = norm1.forward(parameterStore, new NDList(x), training).singletonOrThrow();
        NDArray h = x.add(attend(parameterStore, normed, training));
        NDArray mlpIn = norm2.forward(parameterStore, new NDList(h), training).singletonOrThrow();
        NDArray hidden = fc1.forward(parameterStore, new NDList(mlpIn), training).singletonOrThrow();
        NDArray activated = hidden.mul(Activation.sigmoid(hidden.mul(Scalars.of(hidden, QUICK_GELU))));
        return new NDList(h.add(fc2.forward(parameterStore, new NDList(activated), training).singletonOrThrow()));
    }

    private NDArray attend(ParameterStore store, NDArray x, boolean training) {
        long batch = x.getShape().get(0);
        long length = x.getShape().get(1);
        int headDim = width / heads;
        NDArray q = split(query.forward(store, new NDList(x), training).singletonOrThrow(), headDim);
        NDArray k = split(key.forward(store, new NDList(x), training).singletonOrThrow(), headDim);
        NDArray v = split(value.forward(store, new NDList(x), training).singletonOrThrow(), headDim);
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).mul(Scalars.of(q, 1.0 / Math.sqrt(headDim)));
        NDArray merged = scores.softmax(-1).matMul(v).transpose(0, 2, 1, 3).reshape(batch, length, width);
        return output.forward(store, new NDList(merged), training).singletonOrThrow();
    }

    private NDArray split(NDArray projected, int headDim) {
        Shape shape = projected.getShape();
        return projected.reshape(shape.get(0), shape.get(1), heads, headDim).transpose(0, 2, 1, 3);
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape x = inputShapes[0];
        for (var block : new AbstractBlock[]{norm1, norm2}) {
            block.initialize(manager, dataType, x);
        }
        for (AdaptableLinear linear : new AdaptableLinear[]{query, key, value, output, fc1}) {
            linear.initialize(manager, dataType, x);
        }
        fc2.initialize(manager, dataType, new Shape(x.get(0), x.get(1), mlpHidden));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[]{inputShapes[0]};
    }
}
