package dev.loupe.engine.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * The CLIP vision tower as LLaVA uses it: embeddings, {@code pre_layrnorm} (Hugging Face's spelling), the
 * transformer layers, and the hidden state of layer {@code featureLayer} (negative counts from the end; LLaVA
 * takes -2, the one before the last) without its class token. Layers after that one are not built at all: they
 * would never be computed, and parameters without gradients would only burden training. A checkpoint's weights
 * for them are left unread.
 *
 * <p>
 * Input pixels {@code [B, 3, S, S]}, normalised; output {@code [B, (S/P)^2, C]}.
 */
public final class VisionEncoder extends AbstractBlock {
    private static final byte VERSION = 1;

    private final PatchEmbedding embeddings;
    private final LayerNorm preNorm;
    private final VisionLayer[] layers;

    public VisionEncoder(int width, int layerCount, int heads, int mlpHidden, int patch, int imageSize,
            int featureLayer, float normEps) {
        super(VERSION);
        int used = featureLayer < 0 ? layerCount + 1 + featureLayer : featureLayer;
        if (used < 1 || used > layerCount) {
            throw new IllegalArgumentException("featureLayer " + featureLayer + " is not one of the " + layerCount
                    + " layers");
        }
        this.embeddings = addChildBlock("embeddings", new PatchEmbedding(width, patch, imageSize));
        this.preNorm = addChildBlock("pre_layrnorm", LayerNorm.builder().axis(2).optEpsilon(normEps).build());
        this.layers = new VisionLayer[used];
        for (int i = 0; i < used; i++) {
            layers[i] = addChildBlock("layers_" + i, new VisionLayer(width, heads, mlpHidden, normEps));
        }
    }

    public int patchCount() {
        return embeddings.patchCount();
    }

    @Override
    protected NDList forwardInternal(ParameterStore parameterStore, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray hidden = embeddings.forward(parameterStore, inputs, training).singletonOrThrow();
        hidden = preNorm.forward(parameterStore, new NDList(hidden), training).singletonOrThrow();
        for (VisionLayer layer : layers) {
            hidden = layer.forward(parameterStore, new NDList(hidden), training).singletonOrThrow();
        }
        return new NDList(hidden.get(new NDIndex(":, 1:, :")));
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        embeddings.initialize(manager, dataType, inputShapes);
        Shape tokens = embeddings.getOutputShapes(inputShapes)[0];
        preNorm.initialize(manager, dataType, tokens);
        for (VisionLayer layer : layers) {
            layer.initialize(manager, dataType, tokens);
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape tokens = embeddings.getOutputShapes(inputShapes)[0];
        return new Shape[]{new Shape(tokens.get(0), tokens.get(1) - 1, tokens.get(2))};
    }
}
