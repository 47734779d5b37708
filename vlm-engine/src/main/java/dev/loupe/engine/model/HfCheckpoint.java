package dev.loupe.engine.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.loupe.engine.checkpoint.CheckpointFormatException;
import dev.loupe.engine.checkpoint.CheckpointTensors;
import dev.loupe.engine.checkpoint.DType;
import dev.loupe.engine.checkpoint.SafetensorsWriter;
import dev.loupe.engine.checkpoint.TensorInfo;
import dev.loupe.engine.nn.AdaptableLinear;

/**
 * A {@link LlavaModel} in the Hugging Face folder layout: {@code config.json} plus {@code model.safetensors} or
 * shards with {@code model.safetensors.index.json}, tensors named as transformers' LLaVA names them
 * ({@code language_model.model.layers.0.self_attn.q_proj.weight}, {@code vision_tower.vision_model...},
 * {@code multi_modal_projector...}). Newer transformers' names ({@code model.language_model...}) are read too.
 */
public final class HfCheckpoint {
    public static final String CONFIG_FILE = "config.json";

    /** Tensors a LLaVA checkpoint holds that this model never computes: vision layers after the feature layer. */
    private static final Pattern VISION_LAYER = Pattern
            .compile("vision_tower\\.vision_model\\.encoder\\.layers\\.(\\d+)\\..*");
    private static final Pattern UNUSED_VISION = Pattern.compile("vision_tower\\.vision_model\\.post_layernorm\\..*");

    private HfCheckpoint() {
    }

    /** The model's base parameters (not LoRA adapters) by their Hugging Face names, in the model's order. */
    public static Map<String, Parameter> parameters(LlavaModel model) {
        Map<String, Parameter> named = new LinkedHashMap<>();
        walk(model, "", named, new LinkedHashMap<>());
        return named;
    }

    /** The model's linear layers by their Hugging Face module names, e.g. {@code ...layers.0.self_attn.q_proj}. */
    public static Map<String, AdaptableLinear> linearModules(LlavaModel model) {
        Map<String, AdaptableLinear> modules = new LinkedHashMap<>();
        walk(model, "", new LinkedHashMap<>(), modules);
        return modules;
    }

    private static void walk(Block block, String path, Map<String, Parameter> named,
            Map<String, AdaptableLinear> modules) {
        if (block instanceof AdaptableLinear linear) {
            String weightName = hfName(path + "weight");
            modules.put(weightName.substring(0, weightName.length() - ".weight".length()), linear);
        }
        for (Pair<String, Parameter> parameter : block.getDirectParameters()) {
            if (!parameter.getKey().startsWith("lora_")) {
                named.put(hfName(path + parameter.getKey()), parameter.getValue());
            }
        }
        for (Pair<String, Block> child : block.getChildren()) {
            // DJL prefixes each child's name with its two-digit position.
            walk(child.getValue(), path + child.getKey().substring(2) + "/", named, modules);
        }
    }

    static String hfName(String djlPath) {
        String name = djlPath.replaceAll("/gamma$", "/weight").replaceAll("/beta$", "/bias");
        name = name.replaceAll("^embed_tokens$", "language_model/model/embed_tokens/weight")
                .replaceAll("^lm_head$", "language_model/lm_head/weight")
                .replaceAll("^vision_tower/embeddings/(patch_embedding|position_embedding)$",
                        "vision_tower/embeddings/$1/weight")
                .replaceAll("^vision_tower/layers_(\\d+)/(q_proj|k_proj|v_proj|out_proj)/",
                        "vision_tower/layers_$1/self_attn/$2/")
                .replaceAll("^vision_tower/layers_(\\d+)/(fc1|fc2)/", "vision_tower/layers_$1/mlp/$2/")
                .replaceAll("^vision_tower/layers_(\\d+)/", "vision_tower/encoder/layers/$1/")
                .replaceAll("^vision_tower/", "vision_tower/vision_model/")
                .replaceAll("^layers_(\\d+)/", "language_model/model/layers/$1/")
                .replaceAll("^norm/", "language_model/model/norm/");
        return name.replace('/', '.');
    }

    /**
     * Transformers 4.52 and later save LLaVA under other prefixes, and 5.x saves the CLIP tower without its
     * {@code vision_model.} level; all of them mean the same tensors.
     */
    static String canonical(String name) {
        if (name.startsWith("model.language_model.")) {
            return "language_model.model." + name.substring("model.language_model.".length());
        }
        if (name.startsWith("model.vision_tower.")) {
            return canonical(name.substring("model.".length()));
        }
        if (name.startsWith("vision_tower.") && !name.startsWith("vision_tower.vision_model.")) {
            return "vision_tower.vision_model." + name.substring("vision_tower.".length());
        }
        if (name.startsWith("model.multi_modal_projector.")) {
            return name.substring("model.".length());
        }
        if (name.equals("lm_head.weight")) {
            return "language_model.lm_head.weight";
        }
        return name;
    }

    /**
     * Writes the model as a Hugging Face folder.
     *
     * @param dtype F32, F16 or BF16 on disk
     * @param maxShardBytes above this many bytes of tensors, the checkpoint is split into shards with an index
     */
    public static void save(LlavaModel model, Path folder, DType dtype, long maxShardBytes) throws IOException {
        Files.createDirectories(folder);
        model.config().write(folder.resolve(CONFIG_FILE));
        List<List<Map.Entry<String, Parameter>>> shards = new ArrayList<>();
        List<Map.Entry<String, Parameter>> current = new ArrayList<>();
        long currentBytes = 0;
        long totalBytes = 0;
        for (Map.Entry<String, Parameter> entry : parameters(model).entrySet()) {
            long bytes = entry.getValue().getArray().size() * dtype.byteSize();
            if (!current.isEmpty() && currentBytes + bytes > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(entry);
            currentBytes += bytes;
            totalBytes += bytes;
        }
        shards.add(current);
        if (shards.size() == 1) {
            writeShard(shards.get(0), dtype, folder.resolve(CheckpointTensors.SINGLE_FILE));
            return;
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode index = json.createObjectNode();
        index.putObject("metadata").put("total_size", totalBytes);
        ObjectNode weightMap = index.putObject("weight_map");
        for (int i = 0; i < shards.size(); i++) {
            String file = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
            writeShard(shards.get(i), dtype, folder.resolve(file));
            for (Map.Entry<String, Parameter> entry : shards.get(i)) {
                weightMap.put(entry.getKey(), file);
            }
        }
        json.writerWithDefaultPrettyPrinter().writeValue(folder.resolve(CheckpointTensors.INDEX_FILE).toFile(), index);
    }

    private static void writeShard(List<Map.Entry<String, Parameter>> tensors, DType dtype, Path file)
            throws IOException {
        SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt");
        // The scope closes the FP32 copies of other types, which would otherwise stay in the model's manager.
        try (NDScope scope = new NDScope()) {
            for (Map.Entry<String, Parameter> entry : tensors) {
                NDArray array = entry.getValue().getArray();
                writer.add(entry.getKey(), dtype, array.getShape().getShape(),
                        array.toType(DataType.FLOAT32, false).toFloatArray());
            }
        }
        writer.write(file);
    }

    /**
     * Builds the model a Hugging Face folder describes and fills every parameter from it. Nothing is
     * downloaded.
     *
     * @param dataType FLOAT32 for use; FLOAT64 for numerical checks
     * @throws CheckpointFormatException naming a tensor that is missing, unexpected or of the wrong shape
     */
    public static LlavaModel load(NDManager manager, Path folder, DataType dataType) throws IOException {
        LlavaConfig config = LlavaConfig.read(folder.resolve(CONFIG_FILE));
        LlavaModel model = new LlavaModel(config);
        model.initialize(manager, dataType, new Shape(1, 1));
        Map<String, Parameter> wanted = parameters(model);
        try (CheckpointTensors checkpoint = CheckpointTensors.open(folder)) {
            Map<String, String> stored = new TreeMap<>();
            for (String name : checkpoint.tensors().keySet()) {
                stored.put(canonical(name), name);
            }
            for (Map.Entry<String, Parameter> entry : wanted.entrySet()) {
                String storedName = stored.remove(entry.getKey());
                if (storedName == null) {
                    throw new CheckpointFormatException("the checkpoint has no tensor " + entry.getKey());
                }
                copy(checkpoint, storedName, entry.getValue().getArray());
            }
            int usedVisionLayers = usedVisionLayers(config);
            for (String leftOver : stored.keySet()) {
                var layer = VISION_LAYER.matcher(leftOver);
                boolean unusedLayer = layer.matches() && Integer.parseInt(layer.group(1)) >= usedVisionLayers;
                if (!unusedLayer && !UNUSED_VISION.matcher(leftOver).matches()) {
                    throw new CheckpointFormatException("the checkpoint has a tensor this model does not know: "
                            + leftOver);
                }
            }
        }
        return model;
    }

    private static int usedVisionLayers(LlavaConfig config) {
        int layers = config.visionConfig().numHiddenLayers();
        int feature = config.visionFeatureLayer();
        return feature < 0 ? layers + 1 + feature : feature;
    }

    private static void copy(CheckpointTensors checkpoint, String name, NDArray target) throws IOException {
        TensorInfo info = checkpoint.tensors().get(name);
        if (!new Shape(info.shape()).equals(target.getShape())) {
            throw new CheckpointFormatException("tensor " + name + " has shape " + new Shape(info.shape())
                    + ", the model needs " + target.getShape());
        }
        ParameterValues.fill(target, checkpoint.readFloats(name));
    }
}
