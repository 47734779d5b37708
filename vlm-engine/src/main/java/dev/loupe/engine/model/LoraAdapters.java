package dev.loupe.engine.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.loupe.engine.checkpoint.CheckpointFormatException;
import dev.loupe.engine.checkpoint.DType;
import dev.loupe.engine.checkpoint.SafetensorsFile;
import dev.loupe.engine.checkpoint.SafetensorsWriter;
import dev.loupe.engine.nn.AdaptableLinear;

/**
 * LoRA adapters on a {@link LlavaModel}, in the PEFT layout: {@code adapter_config.json} and
 * {@code adapter_model.safetensors} with keys {@code base_model.model.<module>.lora_A.weight} and
 * {@code lora_B.weight}, so that PEFT can load what Loupe trains and the other way round.
 */
public final class LoraAdapters {
    public static final String CONFIG_FILE = "adapter_config.json";
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    private static final String PREFIX = "base_model.model.";
    private static final ObjectMapper JSON = new ObjectMapper();

    private LoraAdapters() {
    }

    /**
     * Freezes every base parameter of the model and adds adapters to the targeted linear layers.
     *
     * @return the adapted modules' names
     */
    public static List<String> apply(NDManager manager, LlavaModel model, LoraSettings settings) {
        model.freezeParameters(true);
        List<String> adapted = new ArrayList<>();
        for (Map.Entry<String, AdaptableLinear> module : HfCheckpoint.linearModules(model).entrySet()) {
            if (settings.targets(module.getKey())) {
                module.getValue().addAdapter(manager, settings.rank(), settings.alpha(), settings.dropout());
                adapted.add(module.getKey());
            }
        }
        if (adapted.isEmpty()) {
            throw new IllegalArgumentException(
                    "no linear layer matches the target modules " + settings.targetModules());
        }
        return adapted;
    }

    /** Writes the adapters (not the base weights) in the PEFT layout. */
    public static void save(LlavaModel model, LoraSettings settings, Path folder) throws IOException {
        Files.createDirectories(folder);
        SafetensorsWriter weights = new SafetensorsWriter().metadata("format", "pt");
        for (Map.Entry<String, AdaptableLinear> module : HfCheckpoint.linearModules(model).entrySet()) {
            AdaptableLinear linear = module.getValue();
            if (linear.hasAdapter()) {
                add(weights, tensorName(module.getKey(), "lora_A"), linear.loraA().getArray());
                add(weights, tensorName(module.getKey(), "lora_B"), linear.loraB().getArray());
            }
        }
        weights.write(folder.resolve(WEIGHTS_FILE));
        ObjectNode config = JSON.createObjectNode()
                .put("peft_type", "LORA")
                .put("task_type", "CAUSAL_LM")
                .put("r", settings.rank())
                .put("lora_alpha", settings.alpha())
                .put("lora_dropout", settings.dropout())
                .put("bias", "none")
                .put("fan_in_fan_out", false)
                .put("loupe_vision_encoder", settings.visionEncoder());
        // PEFT matches a string target as a regular expression over the whole module name.
        String names = String.join("|", settings.targetModules());
        config.put("target_modules", settings.visionEncoder()
                ? "^(language_model|vision_tower)\\..*\\.(" + names + ")$"
                : "^language_model\\..*\\.(" + names + ")$");
        JSON.writerWithDefaultPrettyPrinter().writeValue(folder.resolve(CONFIG_FILE).toFile(), config);
    }

    private static void add(SafetensorsWriter writer, String name, NDArray array) {
        // The scope closes an FP32 copy of another type, which would otherwise stay in the model's manager.
        try (NDScope scope = new NDScope()) {
            writer.add(name, DType.F32, array.getShape().getShape(),
                    array.toType(DataType.FLOAT32, false).toFloatArray());
        }
    }

    /**
     * Adds the adapters of a PEFT folder to a base model (with the settings the folder names) and fills them.
     *
     * @throws CheckpointFormatException naming an adapter tensor that is missing or of the wrong shape
     */
    public static LoraSettings load(NDManager manager, LlavaModel model, Path folder) throws IOException {
        LoraSettings settings = settings(Files.readAllBytes(folder.resolve(CONFIG_FILE)));
        apply(manager, model, settings);
        try (SafetensorsFile weights = SafetensorsFile.open(folder.resolve(WEIGHTS_FILE))) {
            Map<String, String> stored = storedNames(weights);
            Set<String> used = new HashSet<>();
            for (Map.Entry<String, AdaptableLinear> module : HfCheckpoint.linearModules(model).entrySet()) {
                AdaptableLinear linear = module.getValue();
                if (linear.hasAdapter()) {
                    String a = tensorName(module.getKey(), "lora_A");
                    String b = tensorName(module.getKey(), "lora_B");
                    copy(weights, stored.getOrDefault(a, a), linear.loraA().getArray());
                    copy(weights, stored.getOrDefault(b, b), linear.loraB().getArray());
                    used.add(a);
                    used.add(b);
                }
            }
            checkEveryTensorUsed(stored, used);
        }
        return settings;
    }

    /**
     * The settings an {@code adapter_config.json} names.
     *
     * @throws CheckpointFormatException when it is not a LoRA adapter's configuration
     */
    static LoraSettings settings(byte[] configJson) throws IOException {
        JsonNode config;
        try {
            config = JSON.readTree(configJson);
        } catch (IOException e) {
            throw new CheckpointFormatException(CONFIG_FILE + " is not valid JSON", e);
        }
        if (config == null || !"LORA".equals(config.path("peft_type").asText())) {
            throw new CheckpointFormatException(CONFIG_FILE + ": peft_type must be LORA");
        }
        refuseUnsupported(config);
        JsonNode target = config.path("target_modules");
        List<String> names;
        boolean visionEncoder;
        if (target.isArray()) {
            // PEFT's list form: every linear layer whose last name is listed, the vision tower's included.
            names = new ArrayList<>();
            for (JsonNode name : target) {
                if (name.asText().isEmpty() || name.asText().contains(".")) {
                    throw new CheckpointFormatException(CONFIG_FILE + ": target_modules entry \"" + name.asText()
                            + "\" is not a module's last name (like q_proj); Loupe matches last names only");
                }
                names.add(name.asText());
            }
            visionEncoder = true;
        } else {
            // A regular expression over the whole module name: Loupe reads the alternatives of its last group, and
            // whether it names the language model alone (as Loupe writes it, and as PEFT users restrict it).
            String pattern = target.asText();
            if (pattern.lastIndexOf('(') < 0 || pattern.lastIndexOf(')') < pattern.lastIndexOf('(')) {
                throw new CheckpointFormatException(CONFIG_FILE + ": target_modules must be a list of module names"
                        + " or a pattern ending in a group of them, like ^language_model\\..*\\.(q_proj|v_proj)$");
            }
            names = List.of(pattern.substring(pattern.lastIndexOf('(') + 1, pattern.lastIndexOf(')')).split("\\|"));
            visionEncoder = config.path("loupe_vision_encoder")
                    .asBoolean(pattern.contains("vision_tower") || !pattern.contains("language_model"));
        }
        return new LoraSettings(config.path("r").asInt(), config.path("lora_alpha").asDouble(),
                (float) config.path("lora_dropout").asDouble(), names, visionEncoder);
    }

    /**
     * Refuses PEFT settings that change what the adapter computes and Loupe does not implement, rather than serve
     * other numbers than PEFT's.
     */
    private static void refuseUnsupported(JsonNode config) throws CheckpointFormatException {
        for (String flag : List.of("use_dora", "use_rslora", "fan_in_fan_out", "lora_bias")) {
            if (config.path(flag).asBoolean(false)) {
                throw new CheckpointFormatException(CONFIG_FILE + ": " + flag + " is not supported");
            }
        }
        for (String pattern : List.of("rank_pattern", "alpha_pattern")) {
            if (config.path(pattern).size() > 0) {
                throw new CheckpointFormatException(CONFIG_FILE + ": " + pattern + " (per-module ranks or alphas)"
                        + " is not supported");
            }
        }
        for (String field : List.of("layers_to_transform", "modules_to_save", "exclude_modules")) {
            JsonNode value = config.path(field);
            if (!value.isMissingNode() && !value.isNull() && !(value.isContainerNode() && value.isEmpty())) {
                throw new CheckpointFormatException(CONFIG_FILE + ": " + field + " is not supported");
            }
        }
        String bias = config.path("bias").asText("none");
        if (!bias.equals("none")) {
            throw new CheckpointFormatException(CONFIG_FILE + ": bias \"" + bias + "\" is not supported (only none)");
        }
    }

    /**
     * Refuses an adapter file with tensors Loupe would not use (LoRA tensors of modules the settings do not adapt,
     * or anything else, like trainable token deltas): loading it would silently drop part of the adapter.
     */
    static void checkEveryTensorUsed(Map<String, String> stored, Set<String> used)
            throws CheckpointFormatException {
        for (Map.Entry<String, String> tensor : stored.entrySet()) {
            if (!used.contains(tensor.getKey())) {
                throw new CheckpointFormatException(WEIGHTS_FILE + " has " + tensor.getValue() + ", which Loupe"
                        + " would not use: adapter_config.json's target_modules does not adapt that module in this"
                        + " model, or it is not a LoRA matrix");
            }
        }
    }

    /**
     * The tensor names an adapter file stores, by the names Loupe looks up ({@link #tensorName}): PEFT on newer
     * transformers writes {@code base_model.model.model.language_model...} where older ones (and Loupe) write
     * {@code base_model.model.language_model.model...}; both mean the same module.
     */
    static Map<String, String> storedNames(SafetensorsFile weights) {
        Map<String, String> names = new java.util.HashMap<>();
        for (String stored : weights.tensors().keySet()) {
            names.put(stored.startsWith(PREFIX)
                    ? PREFIX + HfCheckpoint.canonical(stored.substring(PREFIX.length()))
                    : stored, stored);
        }
        return names;
    }

    /** The name of a module's adapter tensor in the PEFT layout. */
    static String tensorName(String module, String matrix) {
        return PREFIX + module + "." + matrix + ".weight";
    }

    private static void copy(SafetensorsFile weights, String name, NDArray target) throws IOException {
        if (!weights.tensors().containsKey(name)) {
            throw new CheckpointFormatException(WEIGHTS_FILE + " has no tensor " + name);
        }
        if (!new Shape(weights.tensors().get(name).shape()).equals(target.getShape())) {
            throw new CheckpointFormatException(name + " has another shape than the model's " + target.getShape());
        }
        ParameterValues.fill(target, weights.readFloats(name));
    }

    /** Merges every adapter into its base weights and removes it: the model then runs without adapters. */
    public static void merge(LlavaModel model) {
        for (AdaptableLinear linear : HfCheckpoint.linearModules(model).values()) {
            linear.mergeAdapter();
        }
    }
}
