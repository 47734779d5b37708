package dev.loupe.engine.worker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.JsonProcessingException;

import dev.loupe.engine.checkpoint.CheckpointFormatException;
import dev.loupe.engine.image.ImagePreprocessor;
import dev.loupe.engine.model.HfCheckpoint;
import dev.loupe.engine.model.LlavaConfig;
import dev.loupe.engine.model.LlavaModel;
import dev.loupe.engine.text.ChatTokenizer;

/**
 * Reads and checks what a job spec points to, the base model's folder and the examples, before anything trains:
 * every problem is a {@link JobSpecException} naming the field (and the example) at fault.
 */
final class JobInputs {
    private JobInputs() {
    }

    /** The base folder's {@code config.json}, once the folder is seen to hold it and a tokenizer. */
    static LlavaConfig config(Path base) throws IOException {
        for (String file : List.of(HfCheckpoint.CONFIG_FILE, TrainerWorker.TOKENIZER_FILE)) {
            if (!Files.isRegularFile(base.resolve(file))) {
                throw new JobSpecException("base_model", "base_model " + base + " has no " + file + ": it must be a "
                        + "Hugging Face LLaVA folder with its tokenizer");
            }
        }
        try {
            return LlavaConfig.read(base.resolve(HfCheckpoint.CONFIG_FILE));
        } catch (IllegalArgumentException e) {
            throw new JobSpecException("base_model", "base_model " + base + ": config.json: " + e.getMessage(), e);
        } catch (JsonProcessingException e) {
            throw new JobSpecException("base_model", "base_model " + base + ": config.json is not valid: "
                    + e.getOriginalMessage(), e);
        }
    }

    /** The base folder's tokenizer, whose image token must be the model's. */
    static ChatTokenizer tokenizer(Path base, LlavaConfig config) throws IOException {
        ChatTokenizer tokenizer;
        try {
            tokenizer = ChatTokenizer.load(base.resolve(TrainerWorker.TOKENIZER_FILE), config.imageTokens());
        } catch (IllegalArgumentException e) {
            throw new JobSpecException("base_model", "base_model " + base + ": " + TrainerWorker.TOKENIZER_FILE + ": "
                    + e.getMessage(), e);
        }
        if (tokenizer.imageTokenId() != config.imageTokenIndex()) {
            tokenizer.close();
            throw new JobSpecException("base_model", "base_model " + base + ": the tokenizer's image token is "
                    + tokenizer.imageTokenId() + ", config.json's image_token_index " + config.imageTokenIndex());
        }
        return tokenizer;
    }

    /** The base folder's image preprocessing ({@code preprocessor_config.json}, or CLIP's without it). */
    static ImagePreprocessor preprocessor(Path base, LlavaConfig config) throws IOException {
        try {
            return ImagePreprocessor.forModel(base, config.visionConfig().imageSize());
        } catch (IllegalArgumentException e) {
            throw new JobSpecException("base_model", "base_model " + base + ": " + e.getMessage(), e);
        } catch (JsonProcessingException e) {
            throw new JobSpecException("base_model", "base_model " + base + ": " + ImagePreprocessor.CONFIG_FILE
                    + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    /**
     * Reads and checks every example up front, so that a bad one fails the job at its start: it must encode, fit
     * in the model's positions, have a trained token and pictures the preprocessor takes.
     */
    static List<EncodedExample> examples(String field, ExampleSource source, ChatTokenizer tokenizer,
            ImagePreprocessor preprocessor, LlavaConfig config) throws IOException {
        List<TrainingExample> loaded;
        try {
            loaded = source.load();
        } catch (ExampleFormatException e) {
            throw new JobSpecException(field, field + ": " + e.getMessage(), e);
        }
        int maxPositions = config.textConfig().maxPositionEmbeddings();
        int vocabulary = config.textConfig().vocabSize();
        List<EncodedExample> encoded = new ArrayList<>();
        for (TrainingExample example : loaded) {
            String where = field + ": example " + example.id();
            EncodedExample one;
            try {
                one = EncodedExample.encode(tokenizer, example);
            } catch (IllegalArgumentException e) {
                throw new JobSpecException(field, where + ": " + e.getMessage(), e);
            }
            if (one.chat().length() > maxPositions) {
                throw new JobSpecException(field, where + " is " + one.chat().length() + " tokens long, more than the "
                        + "model's max_position_embeddings " + maxPositions + " (each image takes "
                        + config.imageTokens() + "): shorten it or leave it out");
            }
            for (long id : one.chat().inputIds()) {
                if (id >= vocabulary) {
                    throw new JobSpecException("base_model", "base_model: the tokenizer gives token " + id
                            + ", beyond the model's vocab_size " + vocabulary);
                }
            }
            if (one.labelledTargets() == 0) {
                throw new JobSpecException(field, where + " has no trained token after its first");
            }
            for (TrainingExample.Image image : example.images()) {
                try {
                    EncodedExample.picture(image, preprocessor);
                } catch (IllegalArgumentException | UncheckedIOException e) {
                    throw new JobSpecException(field, where + ": " + e.getMessage(), e);
                }
            }
            encoded.add(one);
        }
        return encoded;
    }

    /** The base model in the spec's precision. */
    static LlavaModel model(NDManager manager, Path base, JobSpec.Precision precision) throws IOException {
        try {
            if (precision == JobSpec.Precision.fp32) {
                return HfCheckpoint.load(manager, base, DataType.FLOAT32);
            }
            // The checkpoint loader fills FP32 (and FP64) models: an FP16 one is a converted copy.
            try (NDManager loading = manager.newSubManager()) {
                LlavaModel wide = HfCheckpoint.load(loading, base, DataType.FLOAT32);
                LlavaModel half = new LlavaModel(wide.config());
                half.initialize(manager, DataType.FLOAT16, new Shape(1, 1));
                var source = HfCheckpoint.parameters(wide);
                for (var target : HfCheckpoint.parameters(half).entrySet()) {
                    target.getValue()
                            .getArray()
                            .set(new NDIndex("..."),
                                    source.get(target.getKey()).getArray().toType(DataType.FLOAT16, false));
                }
                return half;
            }
        } catch (CheckpointFormatException e) {
            throw new JobSpecException("base_model", "base_model " + base + ": " + e.getMessage(), e);
        }
    }
}
