package dev.loupe.engine.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.loupe.engine.checkpoint.CheckpointFormatException;
import dev.loupe.engine.checkpoint.CheckpointTensors;
import dev.loupe.engine.checkpoint.DType;
import dev.loupe.engine.checkpoint.SafetensorsFile;
import dev.loupe.engine.checkpoint.SafetensorsWriter;
import dev.loupe.engine.model.HfCheckpoint;
import dev.loupe.engine.model.LlavaModel;
import dev.loupe.engine.model.LoraAdapters;
import dev.loupe.engine.model.LoraSettings;
import dev.loupe.engine.nn.AdaptableLinear;

/**
 * A training run saved to a folder so that it resumes exactly: a resumed run's weights are bitwise those of an
 * uninterrupted one. The folder holds
 * <ul>
 * <li>{@code model/}, the whole model as a Hugging Face folder ({@link HfCheckpoint}), or {@code adapter/}, only
 * the LoRA adapters in PEFT's layout ({@link LoraAdapters}), when only they train;</li>
 * <li>{@code optimizer.safetensors}, the {@link AdamW} state, its step count in the header's metadata;</li>
 * <li>{@code trainer_state.json}: step, position of the next batch, seed, loss scale and the schedule (read at
 * {@code step}, it needs no position of its own).</li>
 * </ul>
 * Tensors are stored as F32: FP32 and FP16 runs resume exactly, FP64 ones (numerical checks) to FP32 precision.
 * {@code trainer_state.json} is written last, so a folder without it is an unfinished checkpoint.
 */
public final class TrainingCheckpoint {
    public static final String STATE_FILE = "trainer_state.json";
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    public static final String MODEL_FOLDER = "model";
    public static final String ADAPTER_FOLDER = "adapter";
    private static final String PEFT_PREFIX = "base_model.model.";
    private static final int FORMAT = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    private TrainingCheckpoint() {
    }

    /**
     * Saves a run.
     *
     * @param adapter the LoRA settings when only adapters train, to save just them; null to save the whole model
     * @throws IllegalArgumentException if an adapter checkpoint would leave out a trained parameter
     */
    public static void save(Path folder, TrainingLoop loop, LoraSettings adapter) throws IOException {
        Files.createDirectories(folder);
        // Overwriting a checkpoint: until the new state file is in place, the folder is an unfinished one.
        Files.deleteIfExists(folder.resolve(STATE_FILE));
        LlavaModel model = loop.model();
        if (adapter != null) {
            for (String name : loop.optimizer().parameters().keySet()) {
                if (!name.endsWith("lora_A") && !name.endsWith("lora_B")) {
                    throw new IllegalArgumentException(name + " trains but is not an adapter: save the whole model");
                }
            }
            LoraAdapters.save(model, adapter, folder.resolve(ADAPTER_FOLDER));
        } else {
            HfCheckpoint.save(model, folder.resolve(MODEL_FOLDER), DType.F32, Long.MAX_VALUE);
        }

        SafetensorsWriter optimizer = new SafetensorsWriter().metadata("step",
                Long.toString(loop.optimizer().stepCount()));
        // The scope closes FP32 copies of FP64 state, which would otherwise stay in the optimizer's manager.
        try (NDScope scope = new NDScope()) {
            loop.optimizer().exportState().forEach((name, array) -> optimizer.add(name, DType.F32,
                    array.getShape().getShape(), array.toType(DataType.FLOAT32, false).toFloatArray()));
        }
        optimizer.write(folder.resolve(OPTIMIZER_FILE));

        TrainingState state = loop.state();
        ObjectNode json = JSON.createObjectNode()
                .put("format", FORMAT)
                .put("weights", adapter != null ? ADAPTER_FOLDER : MODEL_FOLDER)
                .put("step", state.step())
                .put("next_batch", state.nextBatch())
                .put("seed", state.seed());
        if (state.lossScale() != null) {
            json.putObject("loss_scale")
                    .put("scale", state.lossScale().scale())
                    .put("good_steps", state.lossScale().goodSteps());
        } else {
            json.putNull("loss_scale");
        }
        LearningRateSchedule schedule = loop.schedule();
        json.putObject("schedule")
                .put("peak", schedule.peak())
                .put("warmup_steps", schedule.warmupSteps())
                .put("total_steps", schedule.totalSteps())
                .put("min_ratio", schedule.minRatio());
        Path temporary = folder.resolve(STATE_FILE + ".tmp");
        JSON.writerWithDefaultPrettyPrinter().writeValue(temporary.toFile(), json);
        Files.move(temporary, folder.resolve(STATE_FILE), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * Restores a saved run into a loop built as the saved one was (same model structure, adapters applied with the
     * same settings, optimizer over it): fills the saved weights, the optimizer's state and the loop's state.
     *
     * @throws CheckpointFormatException if the folder is unfinished or does not fit the model
     */
    public static void restore(Path folder, TrainingLoop loop) throws IOException {
        Path stateFile = folder.resolve(STATE_FILE);
        if (!Files.exists(stateFile)) {
            throw new CheckpointFormatException(folder + " has no " + STATE_FILE + ": not a finished checkpoint");
        }
        JsonNode json = JSON.readTree(stateFile.toFile());
        if (json.path("format").asInt() != FORMAT) {
            throw new CheckpointFormatException(stateFile + ": unknown format " + json.path("format"));
        }
        LlavaModel model = loop.model();
        String weights = json.path("weights").asText();
        if (weights.equals(ADAPTER_FOLDER)) {
            restoreAdapters(model, folder.resolve(ADAPTER_FOLDER).resolve(LoraAdapters.WEIGHTS_FILE));
        } else if (weights.equals(MODEL_FOLDER)) {
            restoreModel(model, folder.resolve(MODEL_FOLDER));
        } else {
            throw new CheckpointFormatException(stateFile + ": unknown weights " + weights);
        }
        restoreOptimizer(loop.optimizer(), folder.resolve(OPTIMIZER_FILE));

        JsonNode scale = json.path("loss_scale");
        TrainingState.LossScale lossScale = scale.isObject()
                ? new TrainingState.LossScale(scale.path("scale").asDouble(), scale.path("good_steps").asInt())
                : null;
        loop.restore(new TrainingState(json.path("step").asLong(), json.path("next_batch").asLong(),
                json.path("seed").asLong(), lossScale));
    }

    private static void restoreModel(LlavaModel model, Path folder) throws IOException {
        try (CheckpointTensors tensors = CheckpointTensors.open(folder)) {
            for (Map.Entry<String, Parameter> entry : HfCheckpoint.parameters(model).entrySet()) {
                if (!tensors.tensors().containsKey(entry.getKey())) {
                    throw new CheckpointFormatException(folder + " has no tensor " + entry.getKey());
                }
                fill(entry.getKey(), entry.getValue().getArray(), tensors.tensors().get(entry.getKey()).shape(),
                        tensors.readFloats(entry.getKey()));
            }
        }
    }

    /** Reads the adapters back into a model that already carries them; the names are those LoraAdapters writes. */
    private static void restoreAdapters(LlavaModel model, Path file) throws IOException {
        if (HfCheckpoint.linearModules(model).values().stream().noneMatch(AdaptableLinear::hasAdapter)) {
            throw new CheckpointFormatException(file + " holds LoRA adapters, the model has none: apply them first");
        }
        try (SafetensorsFile tensors = SafetensorsFile.open(file)) {
            for (Map.Entry<String, AdaptableLinear> module : HfCheckpoint.linearModules(model).entrySet()) {
                AdaptableLinear linear = module.getValue();
                if (!linear.hasAdapter()) {
                    continue;
                }
                Map<String, NDArray> pair = new LinkedHashMap<>();
                pair.put(PEFT_PREFIX + module.getKey() + ".lora_A.weight", linear.loraA().getArray());
                pair.put(PEFT_PREFIX + module.getKey() + ".lora_B.weight", linear.loraB().getArray());
                for (Map.Entry<String, NDArray> entry : pair.entrySet()) {
                    if (!tensors.tensors().containsKey(entry.getKey())) {
                        throw new CheckpointFormatException(file + " has no tensor " + entry.getKey());
                    }
                    fill(entry.getKey(), entry.getValue(), tensors.tensors().get(entry.getKey()).shape(),
                            tensors.readFloats(entry.getKey()));
                }
            }
        }
    }

    private static void restoreOptimizer(AdamW optimizer, Path file) throws IOException {
        try (SafetensorsFile tensors = SafetensorsFile.open(file);
                NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> state = new LinkedHashMap<>();
            for (String name : tensors.tensors().keySet()) {
                state.put(name, manager.create(tensors.readFloats(name), new Shape(tensors.tensors()
                        .get(name)
                        .shape())));
            }
            String steps = tensors.metadata().get("step");
            if (steps == null) {
                throw new CheckpointFormatException(file + " has no step in its metadata");
            }
            optimizer.importState(state, Long.parseLong(steps));
        }
    }

    /** Overwrites a parameter's values in its own type. */
    private static void fill(String name, NDArray target, long[] shape, float[] values)
            throws CheckpointFormatException {
        if (!new Shape(shape).equals(target.getShape())) {
            throw new CheckpointFormatException(name + " has shape " + new Shape(shape) + ", the model needs "
                    + target.getShape());
        }
        try (NDManager scratch = target.getManager().newSubManager()) {
            target.set(new NDIndex("..."), scratch.create(values, target.getShape())
                    .toType(target.getDataType(), false));
        }
    }
}
