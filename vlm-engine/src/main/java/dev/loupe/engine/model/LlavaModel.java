package dev.loupe.engine.model;

import java.util.Arrays;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.Pair;
import ai.djl.util.PairList;

import dev.loupe.engine.nn.AttentionMasks;
import dev.loupe.engine.nn.DecoderLayer;
import dev.loupe.engine.nn.Placement;
import dev.loupe.engine.nn.Projector;
import dev.loupe.engine.nn.RmsNorm;
import dev.loupe.engine.nn.RotaryEmbedding;
import dev.loupe.engine.nn.VisionEncoder;

/**
 * A LLaVA-style vision-language model: the CLIP vision tower reads each image, the projector maps its patch
 * features to the decoder's width, and those features take the place of the image tokens' embeddings in the
 * token sequence (each image fills {@link LlavaConfig#imageTokens()} consecutive image tokens, images in order);
 * the Llama decoder then predicts the next token at every position.
 *
 * <p>
 * Inputs: {@code ids [B, T]} (int64), {@code isToken [B, T]} (1 for tokens, 0 for padding after them),
 * {@code pixels [I, 3, S, S]} for the I images of the whole batch in order (any shape with I = 0 when there is
 * none). Output: {@code logits [B, T, V]}. Parameters {@code embed_tokens} and {@code lm_head} {@code [V, C]};
 * children {@code vision_tower}, {@code multi_modal_projector}, {@code layers_0...}, {@code norm}.
 */
public final class LlavaModel extends AbstractBlock {
    private static final byte VERSION = 1;

    private final LlavaConfig config;
    private final VisionEncoder vision;
    private final Projector projector;
    private final DecoderLayer[] layers;
    private final RmsNorm norm;
    private final Parameter embedTokens;
    private final Parameter lmHead;

    public LlavaModel(LlavaConfig config) {
        super(VERSION);
        config.check();
        this.config = config;
        LlavaConfig.VisionConfig v = config.visionConfig();
        LlavaConfig.TextConfig t = config.textConfig();
        this.vision = addChildBlock("vision_tower", new VisionEncoder(v.hiddenSize(), v.numHiddenLayers(),
                v.numAttentionHeads(), v.intermediateSize(), v.patchSize(), v.imageSize(),
                config.visionFeatureLayer(), (float) v.layerNormEps()));
        this.projector = addChildBlock("multi_modal_projector", new Projector(t.hiddenSize()));
        this.layers = new DecoderLayer[t.numHiddenLayers()];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = addChildBlock("layers_" + i, new DecoderLayer(t.hiddenSize(), t.numAttentionHeads(),
                    t.numKeyValueHeads(), t.headDim(), t.intermediateSize(), t.rmsNormEps()));
        }
        this.norm = addChildBlock("norm", new RmsNorm(t.hiddenSize(), t.rmsNormEps()));
        NormalInitializer small = new NormalInitializer(0.02f);
        this.embedTokens = addParameter(Parameter.builder()
                .setName("embed_tokens")
                .setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(t.vocabSize(), t.hiddenSize()))
                .optInitializer(small)
                .build());
        this.lmHead = addParameter(Parameter.builder()
                .setName("lm_head")
                .setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(t.vocabSize(), t.hiddenSize()))
                .optInitializer(small)
                .build());
    }

    public LlavaConfig config() {
        return config;
    }

    @Override
    protected NDList forwardInternal(ParameterStore parameterStore, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray ids = inputs.get(0);
        boolean[][] isToken = tokenFlags(inputs.get(1), (int) ids.getShape().get(0), (int) ids.getShape().get(1));
        return new NDList(step(parameterStore, ids, isToken, inputs.get(2), null, training));
    }

    /**
     * Computes the logits of new positions, after those a cache holds. Every array the step makes, the logits and
     * the cache's new keys and values included, belongs to the manager of {@code ids}: closing it frees the step,
     * and nothing accumulates in the parameters' manager however many steps run.
     *
     * <p>
     * The step is {@link #embed}, {@link #layer} for every layer and {@link #head}; a caller that needs the pieces
     * apart (activation checkpointing recomputes them layer by layer) calls those.
     *
     * @param ids {@code [B, T]} the new tokens (padding anywhere a row has none, marked in {@code isToken})
     * @param isToken {@code [B][T]}
     * @param pixels the images of the image tokens among the new ones, in order
     * @param cache the positions before, extended by this step; null to compute {@code ids} alone
     * @return {@code [B, T, V]}
     */
    public NDArray step(ParameterStore parameterStore, NDArray ids, boolean[][] isToken, NDArray pixels,
            KvCache cache, boolean training) {
        NDArray hidden = embed(parameterStore, ids, pixels, training);
        NDList shared = sharedLayerInputs(ids.getManager(), isToken, cache, hidden.getDataType());
        for (int i = 0; i < layers.length; i++) {
            hidden = layer(parameterStore, i, hidden, shared, cache, training);
        }
        if (cache != null) {
            cache.append(isToken);
        }
        return head(parameterStore, hidden, training);
    }

    /** The data type of the model's weights, which its inputs (pixels) take. */
    public DataType dataType() {
        return embedTokens.getArray().getDataType();
    }

    /** The number of decoder layers, the indices {@link #layer} takes. */
    public int layerCount() {
        return layers.length;
    }

    /**
     * The decoder's input: the token embeddings, with the projected features of the images in place of the image
     * tokens'. Its arrays belong to the manager of {@code ids}.
     *
     * @param ids {@code [B, T]}
     * @param pixels the images of the image tokens, in order
     * @return {@code [B, T, C]}
     */
    public NDArray embed(ParameterStore parameterStore, NDArray ids, NDArray pixels, boolean training) {
        int batch = (int) ids.getShape().get(0);
        int length = (int) ids.getShape().get(1);
        // Every array a step makes belongs to the manager of ids, so that closing that manager frees the step
        // (see Placement): the gathered rows would otherwise land in the parameters' manager, which lives as long
        // as the model.
        NDArray table = parameterStore.getValue(embedTokens, ids.getDevice(), training);
        NDArray embedded = Placement.withInput(table.get(ids.reshape(-1)), table, ids);
        return withImages(parameterStore, embedded, ids.toLongArray(), pixels, training)
                .reshape(batch, length, config.textConfig().hiddenSize());
    }

    /**
     * Whether {@link #embed} of these ids reads a parameter that is being trained: the token table, or, where the
     * ids hold image tokens, the vision tower or the projector. If not, no gradient needs to flow below the first
     * decoder layer, and a backward pass from the embeddings would have no graph to run through.
     *
     * @param ids {@code [B, T]}
     */
    public boolean embeddingTrains(NDArray ids) {
        if (embedTokens.requiresGradient()) {
            return true;
        }
        long imageToken = config.imageTokenIndex();
        if (Arrays.stream(ids.toLongArray()).noneMatch(id -> id == imageToken)) {
            return false;
        }
        for (Pair<String, Parameter> parameter : vision.getParameters()) {
            if (parameter.getValue().requiresGradient()) {
                return true;
            }
        }
        for (Pair<String, Parameter> parameter : projector.getParameters()) {
            if (parameter.getValue().requiresGradient()) {
                return true;
            }
        }
        return false;
    }

    /**
     * What every decoder layer of one pass without a cache reads besides its input: the rotary cosines and sines
     * {@code [B, 1, T, D]} of the tokens' positions (a token's position is the number of tokens before it in its
     * row) and the causal mask {@code [B, 1, T, T]}, which also hides padding. Constants, without gradient, in
     * {@code manager}.
     *
     * @param isToken {@code [B][T]}
     * @return {@code cos}, {@code sin}, {@code mask}
     */
    public NDList sharedLayerInputs(NDManager manager, boolean[][] isToken, DataType dataType) {
        return sharedLayerInputs(manager, isToken, null, dataType);
    }

    private NDList sharedLayerInputs(NDManager manager, boolean[][] isToken, KvCache cache, DataType dataType) {
        int batch = isToken.length;
        int length = isToken[0].length;
        // A token's position is the number of tokens before it in its row, so rows padded on the left (batched
        // prompts) and on the right (training batches) both count from their first token.
        boolean[][] keyIsToken = new boolean[batch][];
        long[][] positions = new long[batch][length];
        for (int b = 0; b < batch; b++) {
            boolean[] before = cache == null ? new boolean[0] : cache.isToken(b);
            keyIsToken[b] = new boolean[before.length + length];
            System.arraycopy(before, 0, keyIsToken[b], 0, before.length);
            System.arraycopy(isToken[b], 0, keyIsToken[b], before.length, length);
            long count = 0;
            for (boolean token : before) {
                count += token ? 1 : 0;
            }
            for (int t = 0; t < length; t++) {
                positions[b][t] = count;
                count += isToken[b][t] ? 1 : 0;
            }
        }
        NDList cosSin = RotaryEmbedding.cosSin(manager, positions, config.textConfig().headDim(),
                config.textConfig().ropeTheta(), dataType);
        NDArray mask = AttentionMasks.causal(manager, keyIsToken, length, dataType);
        return new NDList(cosSin.get(0), cosSin.get(1), mask);
    }

    /**
     * Decoder layer {@code index} on its input. Its arrays belong to the manager of {@code hidden}.
     *
     * @param hidden {@code [B, T, C]}, the previous layer's output or {@link #embed}'s
     * @param shared {@link #sharedLayerInputs} of the pass
     * @return {@code [B, T, C]}
     */
    public NDArray layer(ParameterStore parameterStore, int index, NDArray hidden, NDList shared,
            boolean training) {
        return layer(parameterStore, index, hidden, shared, null, training);
    }

    private NDArray layer(ParameterStore parameterStore, int index, NDArray hidden, NDList shared, KvCache cache,
            boolean training) {
        NDList layerInputs = new NDList(hidden, shared.get(0), shared.get(1), shared.get(2));
        if (cache != null && cache.length() > 0) {
            layerInputs.add(cache.keys(index));
            layerInputs.add(cache.values(index));
        }
        NDList out = layers[index].forward(parameterStore, layerInputs, training);
        if (cache != null) {
            cache.set(index, out.get(1), out.get(2));
        }
        return out.get(0);
    }

    /**
     * The final norm and the language-model head on the last layer's output. Its arrays belong to the manager of
     * {@code hidden}.
     *
     * @param hidden {@code [B, T, C]}
     * @return the logits {@code [B, T, V]}
     */
    public NDArray head(ParameterStore parameterStore, NDArray hidden, boolean training) {
        NDArray normed = norm.forward(parameterStore, new NDList(hidden), training).singletonOrThrow();
        // The head's transpose would otherwise land in the parameters' manager (see Placement).
        NDArray head = parameterStore.getValue(lmHead, hidden.getDevice(), training);
        return normed.matMul(Placement.transposed(head, normed));
    }

    /** A cache for this model's layers. */
    public KvCache newCache() {
        return new KvCache(layers.length);
    }

    /**
     * The images as the decoder sees them: the vision tower's features, projected to the decoder's width. Its
     * arrays belong to the manager of {@code pixels}.
     *
     * @param pixels {@code [I, 3, S, S]}
     * @return {@code [I, P, C]}, P the image tokens of one image
     */
    public NDArray imageFeatures(ParameterStore parameterStore, NDArray pixels, boolean training) {
        return projector
                .forward(parameterStore, vision.forward(parameterStore, new NDList(pixels), training), training)
                .singletonOrThrow();
    }

    /**
     * Puts the projected features of the images where the image tokens are: rows {@code [B*T, C]} in, rows out,
     * gradients flowing into both the embeddings of the other tokens and the image features.
     */
    private NDArray withImages(ParameterStore store, NDArray embedded, long[] ids, NDArray pixels,
            boolean training) {
        long imageToken = config.imageTokenIndex();
        int perImage = config.imageTokens();
        long imageTokens = Arrays.stream(ids).filter(id -> id == imageToken).count();
        if (imageTokens == 0) {
            return embedded;
        }
        long images = pixels.getShape().dimension() == 4 ? pixels.getShape().get(0) : 0;
        if (imageTokens != images * perImage) {
            throw new IllegalArgumentException("the sequences hold " + imageTokens + " image tokens, but "
                    + images + " images take " + images * perImage);
        }
        // The vision tower's arrays follow the pixels' manager, which may be the caller's and outlive the step
        // (the generator's images): a view of the pixels in the step's manager keeps them with the step.
        NDArray localPixels = Placement.withInput(pixels.reshape(pixels.getShape()), pixels, embedded);
        NDArray features = imageFeatures(store, localPixels, training).reshape(imageTokens, -1);
        // Row k of the features goes to the k-th image token; every other position takes the zero row at the end.
        NDManager manager = embedded.getManager();
        NDArray rows = features.concat(manager.zeros(new Shape(1, features.getShape().get(1)), features.getDataType()),
                0);
        long[] source = new long[ids.length];
        float[] keep = new float[ids.length];
        long next = 0;
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == imageToken) {
                source[i] = next++;
            } else {
                source[i] = imageTokens;
                keep[i] = 1;
            }
        }
        NDArray placed = rows.get(manager.create(source));
        NDArray keepMask = manager.create(keep, new Shape(ids.length, 1)).toType(embedded.getDataType(), false);
        return embedded.mul(keepMask).add(placed);
    }

    private static boolean[][] tokenFlags(NDArray isToken, int batch, int length) {
        long[] flags = isToken.toType(DataType.INT64, false).toLongArray();
        boolean[][] tokens = new boolean[batch][length];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < length; t++) {
                tokens[b][t] = flags[b * length + t] != 0;
            }
        }
        return tokens;
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        LlavaConfig.VisionConfig v = config.visionConfig();
        LlavaConfig.TextConfig t = config.textConfig();
        Shape pixels = new Shape(1, 3, v.imageSize(), v.imageSize());
        vision.initialize(manager, dataType, pixels);
        projector.initialize(manager, dataType, vision.getOutputShapes(new Shape[]{pixels}));
        long batch = inputShapes[0].get(0);
        long length = inputShapes[0].get(1);
        Shape hidden = new Shape(batch, length, t.hiddenSize());
        Shape rotary = new Shape(length, t.headDim());
        for (DecoderLayer layer : layers) {
            layer.initialize(manager, dataType, hidden, rotary, rotary, new Shape(batch, 1, length, length));
        }
        norm.initialize(manager, dataType, hidden);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[]{new Shape(inputShapes[0].get(0), inputShapes[0].get(1), config.textConfig().vocabSize())};
    }
}
