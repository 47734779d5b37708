package dev.loupe.engine.model;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/** Fills a parameter's array from checkpoint floats, in the array's own precision. */
final class ParameterValues {
    private ParameterValues() {
    }

    static void fill(NDArray target, float[] values) {
        if (target.getDataType() == DataType.FLOAT64) {
            double[] widened = new double[values.length];
            for (int i = 0; i < values.length; i++) {
                widened[i] = values[i];
            }
            target.set(DoubleBuffer.wrap(widened));
        } else {
            target.set(FloatBuffer.wrap(values));
        }
    }
}
