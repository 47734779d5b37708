package dev.loupe.engine.checkpoint;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** A checkpoint with F32, F16 and BF16 tensors loads into FLOAT32 DJL arrays on the offline PyTorch engine. */
class CheckpointArraysTest {
    @TempDir
    Path folder;

    @Test
    void everyTensorArrivesAsFloat32WithItsShape() throws IOException {
        float[] weight = {0.5f, -1.25f, 2f, 3.5f, -0.125f, 8f};
        float[] bias = {1f, -2f, 0.75f};
        float[] norm = {1f, 0.5f};
        new SafetensorsWriter().add("proj.weight", DType.F32, new long[]{3, 2}, weight)
                .add("proj.bias", DType.F16, new long[]{3}, bias)
                .add("norm.weight", DType.BF16, new long[]{2}, norm)
                .write(folder.resolve(CheckpointTensors.SINGLE_FILE));

        assertEquals("PyTorch", Engine.getInstance().getEngineName());
        try (NDManager manager = NDManager.newBaseManager();
                CheckpointTensors checkpoint = CheckpointTensors.open(folder)) {
            Map<String, NDArray> arrays = CheckpointArrays.load(manager, checkpoint);
            assertEquals(List.of("proj.weight", "proj.bias", "norm.weight"), List.copyOf(arrays.keySet()));
            for (NDArray array : arrays.values()) {
                assertEquals(DataType.FLOAT32, array.getDataType(), array.getName());
            }
            assertEquals(new Shape(3, 2), arrays.get("proj.weight").getShape());
            assertArrayEquals(weight, arrays.get("proj.weight").toFloatArray());
            // These values are exact in 16 bits, so widening gives them back unchanged.
            assertArrayEquals(bias, arrays.get("proj.bias").toFloatArray());
            assertArrayEquals(norm, arrays.get("norm.weight").toFloatArray());
            // The arrays compute: proj.weight^T x [1, 1, 1] = column sums.
            NDArray sums = arrays.get("proj.weight").transpose().matMul(manager.ones(new Shape(3, 1)));
            assertArrayEquals(new float[]{0.5f + 2f - 0.125f, -1.25f + 3.5f + 8f}, sums.toFloatArray(), 1e-6f);
        }
    }
}
