package dev.loupe.engine.checkpoint;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Loads a checkpoint's tensors into DJL arrays. Every floating-point tensor arrives as FLOAT32, whatever its
 * stored type: DJL's PyTorch engine aborts the JVM on BF16 arrays, so 16-bit tensors are widened in Java
 * first ({@link SafetensorsFile#readFloats}).
 */
public final class CheckpointArrays {
    private CheckpointArrays() {
    }

    /**
     * Every tensor of the checkpoint, by name, in checkpoint order. The arrays belong to {@code manager}: close
     * it (or detach them) when they are no longer needed.
     */
    public static Map<String, NDArray> load(NDManager manager, CheckpointTensors checkpoint) throws IOException {
        Map<String, NDArray> arrays = new LinkedHashMap<>();
        for (TensorInfo tensor : checkpoint.tensors().values()) {
            NDArray array = manager.create(checkpoint.readFloats(tensor.name()), new Shape(tensor.shape()));
            array.setName(tensor.name());
            arrays.put(tensor.name(), array);
        }
        return arrays;
    }
}
