package dev.loupe.engine.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;

import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * Multi-head self-attention with grouped key/value heads and rotary positions (Llama's attention), without
 * biases. {@code H} query heads share {@code K} key/value heads, {@code H / K} each.
 *
 * <p>
 * Inputs: {@code x [B, T, C]}, {@code cos} and {@code sin} {@code [T, D]} or {@code [B, 1, T, D]} from
 * {@link RotaryEmbedding#cosSin}, {@code mask [B, 1, T, S]} from {@link AttentionMasks}, and optionally the keys and
 * values of the S - T positions before, {@code [B, K, S - T, D]} each (the KV cache while generating). Outputs:
 * {@code [B, T, C]}, and the keys and values of all S positions {@code [B, K, S, D]} for the next step's cache. Children {@code q_proj}
 * {@code [H*D, C]}, {@code k_proj} and {@code v_proj} {@code [K*D, C]}, {@code o_proj} {@code [C, H*D]}.
 */
public final class SelfAttention extends AbstractBlock {
    private static final byte VERSION = 1;

    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final AdaptableLinear query;
    private final AdaptableLinear key;
    private final AdaptableLinear value;
    private final AdaptableLinear output;

    public SelfAttention(int width, int heads, int kvHeads, int headDim) {
        super(VERSION);
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("heads (" + heads + ") must be a multiple of kvHeads (" + kvHeads + ")");
        }
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.query = addChildBlock("q_proj", linear(heads * headDim));
        this.key = addChildBlock("k_proj", linear(kvHeads * headDim));
        this.value = addChildBlock("v_proj", linear(kvHeads * headDim));
        this.output = addChildBlock("o_proj", linear(width));
    }

    private static AdaptableLinear linear(int units) {
        return new AdaptableLinear(units, false);
    }

    @Override
    protected NDList forwardInternal(ParameterStore parameterStore, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.get(0);
        NDArray cos = inputs.get(1);
        NDArray sin = inputs.get(2);
        NDArray mask = inputs.get(3);
        long batch = x.getShape().get(0);
        long length = x.getShape().get(1);

        NDArray q = heads(query.forward(parameterStore, new NDList(x), training).singletonOrThrow(), heads);
        NDArray k = heads(key.forward(parameterStore, new NDList(x), training).singletonOrThrow(), kvHeads);
        NDArray v = heads(value.forward(parameterStore, new NDList(x), training).singletonOrThrow(), kvHeads);
        q = RotaryEmbedding.apply(q, cos, sin);
        k = RotaryEmbedding.apply(k, cos, sin);
        if (inputs.size() == 6) {
            // A concatenation belongs to the cache's manager, which outlives the step (the generator keeps the
            // cache in its own between steps): the new cache, and the repeats and transposes made from it, belong
            // with the step's arrays; the generator moves the new cache out after the step.
            k = Placement.withInput(inputs.get(4).concat(k, 2), inputs.get(4), x);
            v = Placement.withInput(inputs.get(5).concat(v, 2), inputs.get(5), x);
        }
        NDArray cachedKeys = k;
        NDArray cachedValues = v;
        if (heads != kvHeads) {
            // Query head h reads key/value head h / (H / K), as Hugging Face's repeat_kv arranges them.
            k = k.repeat(1, heads / kvHeads);
            v = v.repeat(1, heads / kvHeads);
        }
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).mul(Scalars.of(q, 1.0 / Math.sqrt(headDim))).add(mask);
        NDArray attended = scores.softmax(-1).matMul(v);
        NDArray merged = attended.transpose(0, 2, 1, 3).reshape(batch, length, (long) heads * headDim);
        return new NDList(output.forward(parameterStore, new NDList(merged), training).singletonOrThrow(),
                cachedKeys, cachedValues);
    }

    /** {@code [B, T, n*D]} to {@code [B, n, T, D]}. */
    private NDArray heads(NDArray projected, int count) {
        Shape shape = projected.getShape();
        return projected.reshape(shape.get(0), shape.get(1), count, headDim).transpose(0, 2, 1, 3);
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape x = inputShapes[0];
        query.initialize(manager, dataType, x);
        key.initialize(manager, dataType, x);
        value.initialize(manager, dataType, x);
        output.initialize(manager, dataType, new Shape(x.get(0), x.get(1), (long) heads * headDim));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[]{inputShapes[0]};
    }
}
