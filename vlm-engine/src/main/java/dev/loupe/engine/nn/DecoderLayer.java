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
 * One pre-norm Llama decoder layer: {@code h = x + attn(norm(x))}, {@code out = h + mlp(norm(h))}.
 *
 * <p>
 * Inputs and outputs as {@link SelfAttention}: {@code x [B, T, C]}, {@code cos}, {@code sin}, {@code mask},
 * optionally the cached keys and values; out {@code [B, T, C]} and the keys and values to cache. Children {@code input_layernorm}, {@code self_attn}, {@code post_attention_layernorm},
 * {@code mlp}, named as in Hugging Face's Llama.
 */
public final class DecoderLayer extends AbstractBlock {
    private static final byte VERSION = 1;

    private final RmsNorm inputNorm;
    private final SelfAttention attention;
    private final RmsNorm postAttentionNorm;
    private final SwiGluMlp mlp;

    public DecoderLayer(int width, int heads, int kvHeads, int headDim, int mlpHidden, double normEps) {
        super(VERSION);
        this.inputNorm = addChildBlock("input_layernorm", new RmsNorm(width, normEps));
        this.attention = addChildBlock("self_attn", new SelfAttention(width, heads, kvHeads, headDim));
        this.postAttentionNorm = addChildBlock("post_attention_layernorm", new RmsNorm(width, normEps));
        this.mlp = addChildBlock("mlp", new SwiGluMlp(width, mlpHidden));
    }

    @Override
    protected NDList forwardInternal(ParameterStore parameterStore, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.get(0);
        NDArray normed = inputNorm.forward(parameterStore, new NDList(x), training).singletonOrThrow();
        NDList attentionInputs = new NDList(normed, inputs.get(1), inputs.get(2), inputs.get(3));
        if (inputs.size() == 6) {
            attentionInputs.add(inputs.get(4));
            attentionInputs.add(inputs.get(5));
        }
        NDList attended = attention.forward(parameterStore, attentionInputs, training);
        NDArray h = x.add(attended.get(0));
        NDArray mlpIn = postAttentionNorm.forward(parameterStore, new NDList(h), training).singletonOrThrow();
        return new NDList(h.add(mlp.forward(parameterStore, new NDList(mlpIn), training).singletonOrThrow()),
                attended.get(1), attended.get(2));
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        inputNorm.initialize(manager, dataType, inputShapes[0]);
        attention.initialize(manager, dataType, inputShapes);
        postAttentionNorm.initialize(manager, dataType, inputShapes[0]);
        mlp.initialize(manager, dataType, inputShapes[0]);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[]{inputShapes[0]};
    }
}
