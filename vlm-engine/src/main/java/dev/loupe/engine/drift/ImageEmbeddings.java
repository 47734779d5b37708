package dev.loupe.engine.drift;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import dev.loupe.engine.image.ImagePreprocessor;
import dev.loupe.engine.model.LlavaModel;

/**
 * One vector per picture for drift monitoring: the picture's features as the decoder receives them (vision tower,
 * then projector), averaged over its image tokens and scaled to unit length. Pictures of one kind point in similar
 * directions; a picture unlike the training pictures points elsewhere, even where its brightness and size match.
 */
public final class ImageEmbeddings {
    private ImageEmbeddings() {
    }

    /** Pictures read at once: their pixels and activations stay small whatever the number of pictures. */
    private static final int BATCH = 32;

    /**
     * The vectors of pictures, computed a few at a time.
     *
     * @param manager each batch's arrays live in a sub-manager of it, closed after the batch
     * @throws IllegalArgumentException if a picture cannot be used
     */
    public static List<float[]> of(NDManager manager, LlavaModel model, ImagePreprocessor preprocessor,
            List<BufferedImage> images) {
        List<float[]> vectors = new ArrayList<>();
        int side = preprocessor.imageSize();
        for (int start = 0; start < images.size(); start += BATCH) {
            List<BufferedImage> batch = images.subList(start, Math.min(images.size(), start + BATCH));
            try (NDManager pass = manager.newSubManager()) {
                NDArray pixels = pass.create(preprocessor.pixels(batch), new Shape(batch.size(), 3, side, side))
                        .toType(model.dataType(), false);
                vectors.addAll(List.of(of(model, pixels)));
            }
        }
        return vectors;
    }

    /**
     * @param pixels {@code [I, 3, S, S]}, preprocessed for the model; the arrays made belong to its manager
     * @return {@code I} unit vectors of the decoder's width
     */
    public static float[][] of(LlavaModel model, NDArray pixels) {
        ParameterStore store = new ParameterStore(pixels.getManager(), false);
        NDArray features = model.imageFeatures(store, pixels, false).mean(new int[]{1}).toType(DataType.FLOAT32,
                false);
        int count = (int) features.getShape().get(0);
        int width = (int) features.getShape().get(1);
        float[] flat = features.toFloatArray();
        float[][] vectors = new float[count][width];
        for (int i = 0; i < count; i++) {
            double norm = 0;
            for (int j = 0; j < width; j++) {
                norm += (double) flat[i * width + j] * flat[i * width + j];
            }
            double scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
            for (int j = 0; j < width; j++) {
                vectors[i][j] = (float) (flat[i * width + j] * scale);
            }
        }
        return vectors;
    }
}
