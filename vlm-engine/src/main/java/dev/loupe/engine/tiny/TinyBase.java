package dev.loupe.engine.tiny;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import dev.loupe.engine.image.ImagePreprocessor;
import dev.loupe.engine.model.HfCheckpoint;
import dev.loupe.engine.model.LlavaModel;
import dev.loupe.engine.text.ChatTokenizer;

/**
 * Loupe's own tiny base model, pretrained by {@link PretrainTinyBase} on {@link SyntheticScenes} and committed in
 * the repository under {@value #FOLDER}, so that the platform and its tests have a real vision-language model
 * without downloading one. The folder is a Hugging Face LLaVA checkpoint ({@code config.json},
 * {@code model.safetensors}) with its {@code tokenizer.json}.
 *
 * <p>
 * Its images are {@link SyntheticScenes#IMAGE_SIZE}-pixel RGB pictures, given to the model as {@link #pixels}
 * makes them.
 *
 * @param model the base weights, in FP32
 * @param tokenizer its chat tokenizer; closed with this
 */
public record TinyBase(LlavaModel model, ChatTokenizer tokenizer) implements AutoCloseable {
    /** The checkpoint folder, relative to the repository root. */
    public static final String FOLDER = "models/loupe-tiny-base";
    public static final String TOKENIZER_FILE = "tokenizer.json";
    /** White 0, black -1: see {@link #pixels}. The checkpoint's {@code preprocessor_config.json} says the same. */
    static final ImagePreprocessor PREPROCESSOR = ImagePreprocessor.of(SyntheticScenes.IMAGE_SIZE, 1 / 255.0,
            new float[]{1, 1, 1}, new float[]{1, 1, 1});

    /**
     * The committed checkpoint folder, found by walking up from the working directory (the repository root, or a
     * module's folder when Maven runs its tests) to the first folder that holds it.
     *
     * @throws IllegalStateException if no folder above the working directory holds it
     */
    public static Path folder() {
        Path start = Path.of("").toAbsolutePath();
        for (Path dir = start; dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve(FOLDER);
            if (Files.isRegularFile(candidate.resolve(HfCheckpoint.CONFIG_FILE))) {
                return candidate;
            }
        }
        throw new IllegalStateException("no " + FOLDER + " in " + start + " or any folder above it");
    }

    /** Loads the committed tiny base model; its arrays belong to {@code manager}. */
    public static TinyBase load(NDManager manager) throws IOException {
        return load(manager, folder());
    }

    /** Loads a tiny base model (or any LLaVA checkpoint with a {@code tokenizer.json}) from a folder. */
    public static TinyBase load(NDManager manager, Path folder) throws IOException {
        LlavaModel model = HfCheckpoint.load(manager, folder, DataType.FLOAT32);
        ChatTokenizer tokenizer = ChatTokenizer.load(folder.resolve(TOKENIZER_FILE), model.config().imageTokens());
        if (tokenizer.imageTokenId() != model.config().imageTokenIndex()) {
            tokenizer.close();
            throw new IllegalArgumentException("the tokenizer's image token " + tokenizer.imageTokenId()
                    + " is not the model's image_token_index " + model.config().imageTokenIndex());
        }
        return new TinyBase(model, tokenizer);
    }

    /**
     * The model's input for pictures: {@code [I, 3, S, S]} flattened, channels R, G, B, each value
     * {@code v / 255 - 1}, so white is 0 and black -1 (image mean 1 and standard deviation 1 in the terms of the
     * checkpoint's {@code preprocessor_config.json}).
     *
     * <p>
     * White is 0 so that the empty parts of a picture, most of it, give the vision tower no input at all. With the
     * usual mean 0.5 and standard deviation 0.5, white is 1 in every channel: every patch then shares one large
     * input, and in pretraining the decoder learned to ignore the picture altogether (the loss with another scene's
     * picture was the loss with its own, to four decimals, after 600 steps), where with white at 0 it used the
     * picture within 50 steps.
     *
     * @param images I pictures of S x S pixels
     */
    public static float[] pixels(List<BufferedImage> images) {
        for (BufferedImage image : images) {
            if (image.getWidth() != SyntheticScenes.IMAGE_SIZE || image.getHeight() != SyntheticScenes.IMAGE_SIZE) {
                throw new IllegalArgumentException("images must be " + SyntheticScenes.IMAGE_SIZE + " x "
                        + SyntheticScenes.IMAGE_SIZE + " pixels");
            }
        }
        return PREPROCESSOR.pixels(images);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
