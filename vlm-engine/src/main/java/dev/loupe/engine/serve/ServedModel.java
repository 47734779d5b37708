package dev.loupe.engine.serve;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import com.fasterxml.jackson.databind.JsonNode;

import dev.loupe.engine.drift.ImageEmbeddings;
import dev.loupe.engine.generate.ContinuousBatch;
import dev.loupe.engine.generate.Generation;
import dev.loupe.engine.generate.Generator;
import dev.loupe.engine.generate.SamplingSettings;
import dev.loupe.engine.generate.json.JsonConstraint;
import dev.loupe.engine.generate.json.TokenVocabulary;
import dev.loupe.engine.image.ImagePreprocessor;
import dev.loupe.engine.model.AdapterWeights;
import dev.loupe.engine.model.HfCheckpoint;
import dev.loupe.engine.model.LlavaModel;
import dev.loupe.engine.text.ChatMessage;
import dev.loupe.engine.text.ChatTokenizer;
import dev.loupe.engine.text.EncodedChat;

/**
 * A base model loaded once for serving, with its tokenizer and image preprocessing. Adapters read with
 * {@link #readAdapter} share its weights; a {@link Batch} runs its rows under one adapter (or none), put in place
 * for each of its passes.
 */
public final class ServedModel implements AutoCloseable {
    public static final String TOKENIZER_FILE = "tokenizer.json";

    private final NDManager manager;
    private final LlavaModel model;
    private final ChatTokenizer tokenizer;
    private final ImagePreprocessor preprocessor;
    private final TokenVocabulary vocabulary;
    private final DataType dataType;
    /** The adapter the model's layers run with now (null inside for the base); null before the first pass. */
    private InPlace inPlace;

    private record InPlace(AdapterWeights adapter) {
    }

    private ServedModel(NDManager manager, LlavaModel model, ChatTokenizer tokenizer, ImagePreprocessor preprocessor,
            TokenVocabulary vocabulary) {
        this.manager = manager;
        this.model = model;
        this.tokenizer = tokenizer;
        this.preprocessor = preprocessor;
        this.vocabulary = vocabulary;
        this.dataType = model.dataType();
    }

    /**
     * Loads a Hugging Face LLaVA checkpoint folder with its {@code tokenizer.json} (and
     * {@code preprocessor_config.json}, CLIP's preprocessing without it), in FP32.
     *
     * @param parent the model's arrays live in a sub-manager of it, freed by {@link #close}
     */
    public static ServedModel load(NDManager parent, Path folder) throws IOException {
        NDManager manager = parent.newSubManager();
        ChatTokenizer tokenizer = null;
        try {
            LlavaModel model = HfCheckpoint.load(manager, folder, DataType.FLOAT32);
            tokenizer = ChatTokenizer.load(folder.resolve(TOKENIZER_FILE), model.config().imageTokens());
            if (tokenizer.imageTokenId() != model.config().imageTokenIndex()) {
                throw new IOException(folder + ": the tokenizer's image token " + tokenizer.imageTokenId()
                        + " is not config.json's image_token_index " + model.config().imageTokenIndex());
            }
            ImagePreprocessor preprocessor = ImagePreprocessor.forModel(folder,
                    model.config().visionConfig().imageSize());
            TokenVocabulary vocabulary = TokenVocabulary.fromTokenizerJson(folder.resolve(TOKENIZER_FILE));
            return new ServedModel(manager, model, tokenizer, preprocessor, vocabulary);
        } catch (IOException | RuntimeException e) {
            if (tokenizer != null) {
                tokenizer.close();
            }
            manager.close();
            throw e;
        }
    }

    /** Reads a PEFT adapter of this base from bytes (see {@link AdapterWeights#read}). */
    public AdapterWeights readAdapter(byte[] configJson, byte[] safetensors) throws IOException {
        return AdapterWeights.read(manager, model, configJson, safetensors);
    }

    /** A conversation encoded for generation, with its pictures. */
    public record Prompt(long[] ids, List<BufferedImage> images) {
        public Prompt {
            images = List.copyOf(images);
        }
    }

    /**
     * Encodes a conversation to continue as the assistant. Each {@code <image>} in a message's content stands for
     * the next picture, in order.
     *
     * @throws IllegalArgumentException when the placeholders and pictures differ in number, a text spells a
     *         special token, a picture cannot be used, or the prompt leaves no room to generate
     */
    public Prompt prompt(List<ChatMessage> messages, List<BufferedImage> images) {
        EncodedChat chat = tokenizer.encode(messages, true);
        if (chat.imageCount() != images.size()) {
            throw new IllegalArgumentException("the messages hold " + chat.imageCount() + " image placeholders for "
                    + images.size() + " images");
        }
        if (chat.length() >= maxPositions()) {
            throw new IllegalArgumentException("the prompt takes " + chat.length() + " tokens; the model reads "
                    + maxPositions() + " positions at most, and some must be left to generate");
        }
        // Checks every picture now, so that a bad one fails its own request rather than the batch it joins.
        preprocessor.pixels(images);
        return new Prompt(chat.inputIds(), images);
    }

    /** The JSON documents of a schema, for constrained generation. */
    public JsonConstraint jsonConstraint(JsonNode schema) {
        return JsonConstraint.of(schema, vocabulary);
    }

    /** One row of a batch. */
    public record Request(Prompt prompt, SamplingSettings settings, Optional<JsonConstraint> constraint) {
    }

    /**
     * Generates a batch to its end, every row under the same adapter: a {@link Batch} that every row joins at once.
     *
     * @param adapter the adapter to run with; null for the base model
     * @param listener hears each token as it is picked
     */
    public List<Generation> complete(AdapterWeights adapter, List<Request> requests,
            Generator.TokenListener listener) {
        Generation[] results = new Generation[requests.size()];
        List<ContinuousBatch.RowListener> listeners = ContinuousBatch.collecting(listener, results);
        try (Batch batch = newBatch(adapter)) {
            batch.add(requests, listeners);
            while (batch.size() > 0) {
                batch.step();
            }
        }
        return Arrays.asList(results);
    }

    /**
     * A batch under one adapter that requests join and leave while it runs (see {@link ContinuousBatch}).
     *
     * @param adapter the adapter to run with; null for the base model
     */
    public Batch newBatch(AdapterWeights adapter) {
        return new Batch(adapter);
    }

    /**
     * A running batch. Its passes hold this model's lock, since the adapter is put in place for each: batches of
     * several adapters may interleave their steps.
     */
    public final class Batch implements AutoCloseable {
        private final AdapterWeights adapter;
        private final ContinuousBatch rows;

        private Batch(AdapterWeights adapter) {
            this.adapter = adapter;
            this.rows = new ContinuousBatch(manager, model, tokenizer.padTokenId());
        }

        /** Reads the requests' prompts (each gets its first token); they then step with the others. */
        public void add(List<Request> requests, List<ContinuousBatch.RowListener> listeners) {
            List<Generator.Request> joining = new ArrayList<>();
            List<BufferedImage> images = new ArrayList<>();
            for (Request request : requests) {
                int room = maxPositions() - request.prompt().ids().length;
                SamplingSettings settings = request.settings();
                if (settings.maxNewTokens() > room) {
                    settings = new SamplingSettings(room, settings.temperature(), settings.topK(), settings.topP(),
                            settings.seed(), settings.stopTokens());
                }
                joining.add(new Generator.Request(request.prompt().ids(), settings, request.constraint()));
                images.addAll(request.prompt().images());
            }
            int side = preprocessor.imageSize();
            synchronized (ServedModel.this) {
                useAdapter(adapter);
                try (NDManager pass = manager.newSubManager()) {
                    NDArray pixels = pass.create(preprocessor.pixels(images), new Shape(images.size(), 3, side, side))
                            .toType(dataType, false);
                    rows.add(joining, listeners, pixels);
                }
            }
        }

        /** One token for every row. */
        public void step() {
            synchronized (ServedModel.this) {
                useAdapter(adapter);
                rows.step();
            }
        }

        /** Rows generating. */
        public int size() {
            return rows.size();
        }

        @Override
        public void close() {
            synchronized (ServedModel.this) {
                rows.close();
            }
        }
    }

    /** Puts the adapter in place (null: the base); the caller holds this model's lock. */
    private void useAdapter(AdapterWeights adapter) {
        // Batches of one adapter usually follow each other: put it in place only when another was.
        if (inPlace != null && inPlace.adapter == adapter) {
            return;
        }
        if (adapter != null) {
            adapter.applyTo(model);
        } else {
            AdapterWeights.removeFrom(model);
        }
        inPlace = new InPlace(adapter);
    }

    /**
     * The pictures' vectors for drift monitoring (see {@link ImageEmbeddings}), as the model with this adapter sees
     * them: an adapter of the vision tower changes them, as it did when its training reference was measured.
     *
     * @param adapter null for the base model
     */
    public List<float[]> imageEmbeddings(AdapterWeights adapter, List<BufferedImage> images) {
        synchronized (this) {
            useAdapter(adapter);
            return ImageEmbeddings.of(manager, model, preprocessor, images);
        }
    }

    /** The text of generated tokens. */
    public String decode(long[] tokens) {
        return tokenizer.decode(tokens);
    }

    /** The tokens of a text, special tokens and chat template aside. */
    public int tokenCount(String text) {
        return tokenizer.text(text).length;
    }

    /** The token that ends the assistant's turn: every request stops there. */
    public long endOfTurnToken() {
        return tokenizer.turnEndTokenId();
    }

    public int maxPositions() {
        return model.config().textConfig().maxPositionEmbeddings();
    }

    /** Tokens each image takes in a prompt. */
    public int imageTokensPerImage() {
        return tokenizer.imageTokensPerImage();
    }

    /** Bytes the base weights take in memory, held once however many adapters are served. */
    public long weightBytes() {
        long bytes = 0;
        for (Pair<String, Parameter> parameter : model.getParameters()) {
            if (parameter.getValue().isInitialized()) {
                NDArray array = parameter.getValue().getArray();
                bytes += array.size() * array.getDataType().getNumOfBytes();
            }
        }
        return bytes;
    }

    @Override
    public void close() {
        tokenizer.close();
        manager.close();
    }
}
