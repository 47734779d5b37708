package dev.loupe.engine.model;

import java.io.IOException;
import java.nio.file.Path;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;

/**
 * The subset of Hugging Face's LLaVA {@code config.json} that Loupe's model reads, with HF's key names, so that a
 * checkpoint folder of this family is described by its own file. Keys Loupe does not use are ignored on reading.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record LlavaConfig(@JsonProperty("model_type") String modelType,
        @JsonProperty("image_token_index") long imageTokenIndex,
        @JsonProperty("projector_hidden_act") String projectorHiddenAct,
        @JsonProperty("vision_feature_layer") int visionFeatureLayer,
        @JsonProperty("vision_feature_select_strategy") String visionFeatureSelectStrategy,
        @JsonProperty("vision_config") VisionConfig visionConfig,
        @JsonProperty("text_config") TextConfig textConfig) {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Llama's rotary base when a config names none. */
    private static final double DEFAULT_ROPE_THETA = 10_000;

    /** CLIP vision tower settings. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record VisionConfig(@JsonProperty("hidden_size") int hiddenSize,
            @JsonProperty("intermediate_size") int intermediateSize,
            @JsonProperty("num_hidden_layers") int numHiddenLayers,
            @JsonProperty("num_attention_heads") int numAttentionHeads,
            @JsonProperty("image_size") int imageSize,
            @JsonProperty("patch_size") int patchSize,
            @JsonProperty("layer_norm_eps") double layerNormEps) {
    }

    /** Llama decoder settings. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record TextConfig(@JsonProperty("model_type") String modelType,
            @JsonProperty("vocab_size") int vocabSize,
            @JsonProperty("hidden_size") int hiddenSize,
            @JsonProperty("intermediate_size") int intermediateSize,
            @JsonProperty("num_hidden_layers") int numHiddenLayers,
            @JsonProperty("num_attention_heads") int numAttentionHeads,
            @JsonProperty("num_key_value_heads") int numKeyValueHeads,
            @JsonProperty("rms_norm_eps") double rmsNormEps,
            @JsonProperty("rope_theta") double ropeTheta,
            @JsonProperty("max_position_embeddings") int maxPositionEmbeddings,
            @JsonProperty("tie_word_embeddings") boolean tieWordEmbeddings) {

        /**
         * Reads the {@code text_config} of both transformers generations: before 5.0 the rotary base is
         * {@code rope_theta}, from 5.0 on it is {@code rope_parameters.rope_theta}. Settings of the Llama family
         * that Loupe's decoder does not implement (scaled rotary embeddings, biases, another head width or
         * activation) are refused here rather than run wrongly.
         */
        @JsonCreator
        static TextConfig fromJson(@JsonProperty("model_type") String modelType,
                @JsonProperty("vocab_size") int vocabSize,
                @JsonProperty("hidden_size") int hiddenSize,
                @JsonProperty("intermediate_size") int intermediateSize,
                @JsonProperty("num_hidden_layers") int numHiddenLayers,
                @JsonProperty("num_attention_heads") int numAttentionHeads,
                @JsonProperty("num_key_value_heads") Integer numKeyValueHeads,
                @JsonProperty("rms_norm_eps") double rmsNormEps,
                @JsonProperty("rope_theta") Double ropeTheta,
                @JsonProperty("rope_parameters") JsonNode ropeParameters,
                @JsonProperty("rope_scaling") JsonNode ropeScaling,
                @JsonProperty("max_position_embeddings") int maxPositionEmbeddings,
                @JsonProperty("tie_word_embeddings") boolean tieWordEmbeddings,
                @JsonProperty("head_dim") Integer headDim,
                @JsonProperty("hidden_act") String hiddenAct,
                @JsonProperty("attention_bias") boolean attentionBias,
                @JsonProperty("mlp_bias") boolean mlpBias) {
            double theta = ropeTheta != null ? ropeTheta : DEFAULT_ROPE_THETA;
            for (JsonNode rope : new JsonNode[]{ropeParameters, ropeScaling}) {
                if (rope == null || rope.isNull()) {
                    continue;
                }
                String type = rope.path("rope_type").asText(rope.path("type").asText("default"));
                if (!"default".equals(type)) {
                    throw new IllegalArgumentException("text_config rope type " + type + " is not supported");
                }
                if (rope.has("rope_theta")) {
                    theta = rope.get("rope_theta").asDouble();
                }
            }
            if (hiddenAct != null && !"silu".equals(hiddenAct)) {
                throw new IllegalArgumentException("text_config.hidden_act must be silu, not " + hiddenAct);
            }
            if (attentionBias || mlpBias) {
                throw new IllegalArgumentException("text_config.attention_bias and mlp_bias are not supported");
            }
            if (numAttentionHeads > 0 && headDim != null && headDim != hiddenSize / numAttentionHeads) {
                throw new IllegalArgumentException("text_config.head_dim must be hidden_size / num_attention_heads");
            }
            return new TextConfig(modelType, vocabSize, hiddenSize, intermediateSize, numHiddenLayers,
                    numAttentionHeads, numKeyValueHeads != null ? numKeyValueHeads : numAttentionHeads, rmsNormEps,
                    theta, maxPositionEmbeddings, tieWordEmbeddings);
        }

        public int headDim() {
            return hiddenSize / numAttentionHeads;
        }
    }

    /**
     * Reads and checks a {@code config.json}.
     *
     * @throws IllegalArgumentException naming the setting Loupe cannot run
     */
    public static LlavaConfig read(Path file) throws IOException {
        LlavaConfig config;
        try {
            config = JSON.readValue(file.toFile(), LlavaConfig.class);
        } catch (ValueInstantiationException e) {
            // A setting refused while reading: its message names it, Jackson's wrapping would only hide it.
            if (e.getCause() instanceof IllegalArgumentException refused) {
                throw refused;
            }
            throw e;
        }
        config.check();
        return config;
    }

    public void write(Path file) throws IOException {
        JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), this);
    }

    /** Tokens one image occupies in the decoder's sequence. */
    public int imageTokens() {
        int grid = visionConfig.imageSize() / visionConfig.patchSize();
        return grid * grid;
    }

    void check() {
        if (!"llava".equals(modelType)) {
            throw new IllegalArgumentException("model_type must be llava, not " + modelType);
        }
        if (visionConfig == null || textConfig == null) {
            throw new IllegalArgumentException("vision_config and text_config are required");
        }
        if (!"default".equals(visionFeatureSelectStrategy)) {
            throw new IllegalArgumentException("vision_feature_select_strategy must be default (drop the class token)");
        }
        if (!"gelu".equals(projectorHiddenAct)) {
            throw new IllegalArgumentException("projector_hidden_act must be gelu");
        }
        if (textConfig.tieWordEmbeddings()) {
            throw new IllegalArgumentException("text_config.tie_word_embeddings is not supported");
        }
        if (textConfig.hiddenSize() % textConfig.numAttentionHeads() != 0
                || textConfig.numAttentionHeads() % textConfig.numKeyValueHeads() != 0) {
            throw new IllegalArgumentException("text_config heads do not divide hidden_size and each other");
        }
        if (visionConfig.imageSize() % visionConfig.patchSize() != 0) {
            throw new IllegalArgumentException("vision_config.image_size must be a multiple of patch_size");
        }
        if (imageTokenIndex < 0 || imageTokenIndex >= textConfig.vocabSize()) {
            throw new IllegalArgumentException("image_token_index must be a token of the vocabulary");
        }
    }
}
