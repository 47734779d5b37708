package dev.loupe.engine.train;

import java.util.List;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.initializer.ConstantInitializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Global-norm clipping over several parameters. */
class GradientsTest {
    private NDManager manager;
    private Parameter a;
    private Parameter b;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
        a = parameter("a", 2);
        b = parameter("b", 3);
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private Parameter parameter(String name, int size) {
        Parameter parameter = Parameter.builder()
                .setName(name)
                .setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(size))
                .optInitializer(new ConstantInitializer(1))
                .build();
        parameter.initialize(manager, DataType.FLOAT32);
        return parameter;
    }

    /** Gradients {@code [3, 0]} and {@code [0, 4, 0] * factor}. */
    private void setGradients(float factor) {
        try (NDManager step = manager.newSubManager();
                GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            collector.backward(a.getArray()
                    .mul(step.create(new float[]{3, 0}))
                    .sum()
                    .add(b.getArray().mul(step.create(new float[]{0, 4 * factor, 0})).sum()));
        }
    }

    @Test
    void clipsLargeGradientsToTheMaximumNorm() {
        setGradients(1);
        double norm = Gradients.clipGlobalNorm(List.of(a, b), 1.0);
        assertEquals(5.0, norm, 1e-6, "the norm before clipping");
        double factor = 1.0 / (5.0 + 1e-6);
        assertArrayEquals(new float[]{(float) (3 * factor), 0}, a.getArray().getGradient().toFloatArray(), 1e-7f);
        assertArrayEquals(new float[]{0, (float) (4 * factor), 0}, b.getArray().getGradient().toFloatArray(), 1e-7f);
        assertEquals(1.0, Gradients.globalNorm(List.of(a, b)), 1e-6);
    }

    @Test
    void leavesGradientsBelowTheMaximumUntouched() {
        setGradients(1);
        assertEquals(5.0, Gradients.clipGlobalNorm(List.of(a, b), 10.0), 1e-6);
        assertArrayEquals(new float[]{3, 0}, a.getArray().getGradient().toFloatArray());
        assertArrayEquals(new float[]{0, 4, 0}, b.getArray().getGradient().toFloatArray());
    }

    @Test
    void infiniteGradientsShowInTheNormAndZeroingClearsThem() {
        setGradients(Float.POSITIVE_INFINITY);
        assertTrue(Double.isInfinite(Gradients.clipGlobalNorm(List.of(a, b), 1.0)));
        assertArrayEquals(new float[]{3, 0}, a.getArray().getGradient().toFloatArray(), "left as they are");
        Gradients.zero(List.of(a, b));
        assertEquals(0, Gradients.globalNorm(List.of(a, b)), 0);
    }
}
