package dev.loupe.engine.model;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import dev.loupe.engine.checkpoint.CheckpointFormatException;
import dev.loupe.engine.checkpoint.SafetensorsFile;
import dev.loupe.engine.nn.AdaptableLinear;

/**
 * A PEFT LoRA adapter held beside a base model rather than inside it, so that several adapters are served on one
 * copy of the base weights: {@link #applyTo} puts this adapter's weights in place before a batch of its requests.
 * The adapter is read from bytes (decrypted in memory, never written to a disk). Its arrays live in its own
 * manager, freed by {@link #close}.
 */
public final class AdapterWeights implements AutoCloseable {
    private final NDManager manager;
    private final LoraSettings settings;
    /** Every linear layer of the model, with this adapter's weights or null (a layer it does not target). */
    private final Map<AdaptableLinear, AdaptableLinear.ServedAdapter> layers;
    private final long bytes;

    private AdapterWeights(NDManager manager, LoraSettings settings,
            Map<AdaptableLinear, AdaptableLinear.ServedAdapter> layers, long bytes) {
        this.manager = manager;
        this.settings = settings;
        this.layers = layers;
        this.bytes = bytes;
    }

    /**
     * Reads an adapter for a base model.
     *
     * @param parent the adapter's arrays live in a sub-manager of it
     * @param configJson the bytes of {@code adapter_config.json}
     * @param safetensors the bytes of {@code adapter_model.safetensors}
     * @throws CheckpointFormatException when the adapter does not fit the model: a targeted module's tensor is
     *         missing or of another shape, or no module is targeted
     */
    public static AdapterWeights read(NDManager parent, LlavaModel model, byte[] configJson, byte[] safetensors)
            throws IOException {
        LoraSettings settings = LoraAdapters.settings(configJson);
        double scaling = settings.alpha() / settings.rank();
        NDManager manager = parent.newSubManager();
        try (SafetensorsFile weights = SafetensorsFile.read(LoraAdapters.WEIGHTS_FILE, safetensors)) {
            Map<String, String> stored = LoraAdapters.storedNames(weights);
            Map<AdaptableLinear, AdaptableLinear.ServedAdapter> layers = new LinkedHashMap<>();
            java.util.Set<String> used = new java.util.HashSet<>();
            long bytes = 0;
            for (Map.Entry<String, AdaptableLinear> module : HfCheckpoint.linearModules(model).entrySet()) {
                layers.put(module.getValue(), null);
                if (!settings.targets(module.getKey())) {
                    continue;
                }
                NDArray base = module.getValue().getParameters().get("weight").getArray();
                long out = base.getShape().get(0);
                long in = base.getShape().get(1);
                // Stored as PEFT stores them (A [r, in], B [out, r]); held transposed, as the forward pass uses them.
                String aName = LoraAdapters.tensorName(module.getKey(), "lora_A");
                String bName = LoraAdapters.tensorName(module.getKey(), "lora_B");
                NDArray a = tensor(manager, weights, stored.getOrDefault(aName, aName),
                        new Shape(settings.rank(), in), base.getDataType()).transpose();
                NDArray b = tensor(manager, weights, stored.getOrDefault(bName, bName),
                        new Shape(out, settings.rank()), base.getDataType()).transpose();
                used.add(aName);
                used.add(bName);
                layers.put(module.getValue(), new AdaptableLinear.ServedAdapter(a, b, scaling));
                bytes += (a.size() + b.size()) * base.getDataType().getNumOfBytes();
            }
            LoraAdapters.checkEveryTensorUsed(stored, used);
            if (layers.values().stream().allMatch(java.util.Objects::isNull)) {
                throw new CheckpointFormatException(
                        "the adapter targets no linear layer of the model: " + settings.targetModules());
            }
            return new AdapterWeights(manager, settings, layers, bytes);
        } catch (IOException | RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    private static NDArray tensor(NDManager manager, SafetensorsFile weights, String name, Shape shape,
            DataType type) throws IOException {
        if (!weights.tensors().containsKey(name)) {
            throw new CheckpointFormatException(LoraAdapters.WEIGHTS_FILE + " has no tensor " + name);
        }
        if (!new Shape(weights.tensors().get(name).shape()).equals(shape)) {
            throw new CheckpointFormatException(name + " has another shape than the model's " + shape);
        }
        return manager.create(weights.readFloats(name), shape).toType(type, false);
    }

    /**
     * Makes the model run with this adapter: every module it targets uses its weights, every other module runs as
     * the base. The model must carry no trainable adapter.
     */
    public void applyTo(LlavaModel model) {
        // The layers were found when the adapter was read: putting it in place walks no model tree.
        layers.forEach(AdaptableLinear::serve);
    }

    /** Makes the model run as the base model again. */
    public static void removeFrom(LlavaModel model) {
        for (AdaptableLinear linear : HfCheckpoint.linearModules(model).values()) {
            linear.serve(null);
        }
    }

    public LoraSettings settings() {
        return settings;
    }

    /** Bytes its weights take in memory. */
    public long bytes() {
        return bytes;
    }

    @Override
    public void close() {
        manager.close();
    }
}
