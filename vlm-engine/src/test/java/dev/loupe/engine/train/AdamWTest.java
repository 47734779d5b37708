package dev.loupe.engine.train;

import java.nio.DoubleBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.initializer.ConstantInitializer;
import ai.djl.util.PairList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.loupe.engine.model.LlavaModel;
import dev.loupe.engine.model.LoraAdapters;
import dev.loupe.engine.model.LoraSettings;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** AdamW against a hand-computed reference, its parameter groups, and its state's round trip. */
class AdamWTest {
    private static final double[] START = {0.5, -1.0, 2.0, 0.0};
    /** The gradient of each of the three steps. */
    private static final double[][] GRADIENTS = {{0.1, -0.2, 0.3, 0.0}, {-0.4, 0.5, 0.1, 1e-3},
            {0.2, 0.2, -0.6, -2.0}};
    private static final double LEARNING_RATE = 0.01;
    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    private static final double EPSILON = 1e-8;

    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private Parameter parameter(String name, double[] values) {
        Parameter parameter = Parameter.builder()
                .setName(name)
                .setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(values.length))
                .optInitializer(new ConstantInitializer(0))
                .build();
        parameter.initialize(manager, DataType.FLOAT64);
        parameter.getArray().set(DoubleBuffer.wrap(values));
        return parameter;
    }

    /** Gives each parameter the gradient {@code gradient} (the loss is {@code sum(p * gradient)}). */
    private void setGradients(double[] gradient, Parameter... parameters) {
        try (NDManager step = manager.newSubManager();
                GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            NDArray loss = step.zeros(new Shape(), DataType.FLOAT64);
            for (Parameter parameter : parameters) {
                loss = loss.add(parameter.getArray().mul(step.create(gradient)).sum());
            }
            collector.backward(loss);
        }
    }

    /** AdamW written out in doubles, one element at a time. */
    private static double[] reference(double weightDecay, double rateMultiplier) {
        double[] p = START.clone();
        double[] m = new double[p.length];
        double[] v = new double[p.length];
        for (int t = 1; t <= GRADIENTS.length; t++) {
            for (int i = 0; i < p.length; i++) {
                double g = GRADIENTS[t - 1][i];
                m[i] = BETA1 * m[i] + (1 - BETA1) * g;
                v[i] = BETA2 * v[i] + (1 - BETA2) * g * g;
                double mHat = m[i] / (1 - Math.pow(BETA1, t));
                double vHat = v[i] / (1 - Math.pow(BETA2, t));
                p[i] -= LEARNING_RATE * rateMultiplier * (mHat / (Math.sqrt(vHat) + EPSILON) + weightDecay * p[i]);
            }
        }
        return p;
    }

    private static void assertClose(double[] expected, double[] actual) {
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-12, "element " + i);
        }
    }

    @Test
    void threeStepsMatchTheReferenceWithAndWithoutWeightDecay() {
        for (double weightDecay : new double[]{0, 0.1}) {
            Parameter weight = parameter("layer_weight", START);
            PairList<String, Parameter> parameters = new PairList<>();
            parameters.add("layer_weight", weight);
            try (AdamW optimizer = AdamW.builder()
                    .optBetas(BETA1, BETA2)
                    .optEpsilon(EPSILON)
                    .optWeightDecay(weightDecay)
                    .build(parameters)) {
                for (double[] gradient : GRADIENTS) {
                    setGradients(gradient, weight);
                    optimizer.step(LEARNING_RATE);
                    Gradients.zero(optimizer.parameters().values());
                }
                assertEquals(3, optimizer.stepCount());
            }
            assertClose(reference(weightDecay, 1), weight.getArray().toDoubleArray());
        }
        assertFalse(Arrays.equals(reference(0, 1), reference(0.1, 1)),
                "the decay must make a difference for this test to mean anything");
    }

    @Test
    void groupsSetTheRateMultiplierAndBiasesAndNormsAreNotDecayed() {
        Parameter projector = parameter("02multi_modal_projector_01linear_1_weight", START);
        Parameter bias = parameter("03layers_0_02q_proj_bias", START);
        Parameter norm = parameter("05norm_weight", START);
        PairList<String, Parameter> parameters = new PairList<>();
        parameters.add("02multi_modal_projector_01linear_1_weight", projector);
        parameters.add("03layers_0_02q_proj_bias", bias);
        parameters.add("05norm_weight", norm);
        try (AdamW optimizer = AdamW.builder()
                .optBetas(BETA1, BETA2)
                .optEpsilon(EPSILON)
                .optWeightDecay(0.1)
                .addGroup(new AdamW.ParameterGroup("projector", name -> name.contains("projector"), 3, 0.1))
                .build(parameters)) {
            assertEquals("projector", optimizer.groupOf("02multi_modal_projector_01linear_1_weight").name());
            assertEquals(AdamW.ParameterGroup.NO_DECAY, optimizer.groupOf("03layers_0_02q_proj_bias").name());
            assertEquals(AdamW.ParameterGroup.NO_DECAY, optimizer.groupOf("05norm_weight").name());
            for (double[] gradient : GRADIENTS) {
                setGradients(gradient, projector, bias, norm);
                optimizer.step(LEARNING_RATE);
                Gradients.zero(optimizer.parameters().values());
            }
        }
        assertClose(reference(0.1, 3), projector.getArray().toDoubleArray());
        assertClose(reference(0, 1), bias.getArray().toDoubleArray());
        assertClose(reference(0, 1), norm.getArray().toDoubleArray());
    }

    @Test
    void namesOfBiasesAndNormsInTheModel() {
        assertTrue(AdamW.ParameterGroup.isBiasOrNorm("01vision_tower_02pre_layrnorm_gamma"));
        assertTrue(AdamW.ParameterGroup.isBiasOrNorm("01vision_tower_02pre_layrnorm_beta"));
        assertTrue(AdamW.ParameterGroup.isBiasOrNorm("03layers_0_01input_layernorm_weight"));
        assertTrue(AdamW.ParameterGroup.isBiasOrNorm("02multi_modal_projector_01linear_1_bias"));
        assertFalse(AdamW.ParameterGroup.isBiasOrNorm("03layers_0_02self_attn_01q_proj_weight"));
        assertFalse(AdamW.ParameterGroup.isBiasOrNorm("03layers_0_02self_attn_01q_proj_lora_A"));
        assertFalse(AdamW.ParameterGroup.isBiasOrNorm("embed_tokens"));
    }

    @Test
    void frozenParametersGetNoState() {
        LlavaModel model = TinyTraining.model(manager, DataType.FLOAT32, 3);
        LoraAdapters.apply(manager, model, new LoraSettings(2, 4, 0f, List.of("q_proj"), false));
        try (AdamW optimizer = AdamW.builder().build(model)) {
            assertEquals(4, optimizer.parameters().size(), optimizer.parameters().keySet().toString());
            assertTrue(optimizer.parameters().keySet().stream().allMatch(name -> name.contains("lora_")));
            assertEquals(8, optimizer.exportState().size());
        }
    }

    @Test
    void importedStateContinuesExactly() {
        Parameter first = parameter("w", START);
        Parameter second = parameter("w", START);
        PairList<String, Parameter> one = new PairList<>();
        one.add("w", first);
        PairList<String, Parameter> two = new PairList<>();
        two.add("w", second);
        try (AdamW original = AdamW.builder().build(one); AdamW copy = AdamW.builder().build(two)) {
            for (int t = 0; t < 2; t++) {
                setGradients(GRADIENTS[t], first);
                original.step(LEARNING_RATE);
                Gradients.zero(original.parameters().values());
            }
            second.getArray().set(DoubleBuffer.wrap(first.getArray().toDoubleArray()));
            copy.importState(original.exportState(), original.stepCount());
            setGradients(GRADIENTS[2], first);
            original.step(LEARNING_RATE);
            setGradients(GRADIENTS[2], second);
            copy.step(LEARNING_RATE);
            assertArrayEquals(first.getArray().toDoubleArray(), second.getArray().toDoubleArray());
            Map<String, NDArray> wrong = Map.of("w.exp_avg", manager.zeros(new Shape(4), DataType.FLOAT64));
            assertThrows(IllegalArgumentException.class, () -> copy.importState(wrong, 1));
        }
    }
}
