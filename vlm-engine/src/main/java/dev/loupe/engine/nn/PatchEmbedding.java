package dev.loupe.engine.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;

/**
 * CLIP's embeddings: non-overlapping {@code P x P} patches projected to the model width (a convolution with stride
 * P and no bias, computed as one matrix product), a learned class token in front, learned position embeddings
 * added.
 *
 * <p>
 * Input pixels {@code [B, 3, S, S]}; output {@code [B, 1 + (S/P)^2, C]}. Parameters named as in Hugging Face's
 * CLIP: {@code patch_embedding} {@code [C, 3, P, P]}, {@code class_embedding} {@code [C]},
 * {@code position_embedding} {@code [1 + (S/P)^2, C]}.
 */
public final class PatchEmbedding extends AbstractBlock {
    private static final byte VERSION = 1;

    private final int width;
    private final int patch;
    private final int imageSize;
    private final Parameter patchWeight;
    private final Parameter classEmbedding;
    private final Parameter positionEmbedding;

    public PatchEmbedding(int width, int patch, int imageSize) {
        super(VERSION);
        if (imageSize % patch != 0) {
            throw new IllegalArgumentException("imageSize must be a multiple of the patch size");
        }
        this.width = width;
        this.patch = patch;
        this.imageSize = imageSize;
        int patches = (imageSize / patch) * (imageSize / patch);
        NormalInitializer small = new NormalInitializer(0.02f);
        this.patchWeight = addParameter(Parameter.builder()
                .setName("patch_embedding")
                .setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(width, 3, patch, patch))
                .optInitializer(small)
                .build());
        this.classEmbedding = addParameter(Parameter.builder()
                .setName("class_embedding")
                .setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(width))
                .optInitializer(small)
                .build());
        this.positionEmbedding = addParameter(Parameter.builder()
                .setName("position_embedding")
                .setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(patches + 1L, width))
                .optInitializer(small)
                .build());
    }

    /** Tokens each image becomes, without the class token. */
    public int patchCount() {
        return (imageSize / patch) * (imageSize / patch);
    }

    @Override
    protected NDList forwardInternal(ParameterStore parameterStore, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray pixels = inputs.singletonOrThrow();
        long batch = pixels.getShape().get(0);
        int grid = imageSize / patch;
        // [B, 3, g, P, g, P] -> [B, g, g, 3, P, P]: each row one patch, channels then rows then columns, the
        // order a convolution kernel [C, 3, P, P] flattens in.
        NDArray patches = pixels.reshape(batch, 3, grid, patch, grid, patch)
                .transpose(0, 2, 4, 1, 3, 5)
                .reshape(batch, (long) grid * grid, 3L * patch * patch);
        // Reshaped in the pixels' manager, not the parameters' (see Placement); what is computed from them
        // follows, the class token's broadcast and concatenation included.
        NDArray kernel = Placement.reshaped(parameterStore.getValue(patchWeight, pixels.getDevice(), training),
                pixels, width, 3L * patch * patch);
        NDArray embedded = patches.matMul(kernel.transpose());
        NDArray cls = Placement.reshaped(parameterStore.getValue(classEmbedding, pixels.getDevice(), training),
                pixels, 1, 1, width)
                .broadcast(batch, 1, width);
        NDArray tokens = cls.concat(embedded, 1);
        return new NDList(tokens.add(parameterStore.getValue(positionEmbedding, pixels.getDevice(), training)));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[]{new Shape(inputShapes[0].get(0), patchCount() + 1L, width)};
    }
}
