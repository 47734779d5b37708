package dev.loupe.engine.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shifted cross-entropy counts labelled next tokens only. */
class CausalLmLossTest {
    private static final long X = -100;
    private static final int VOCAB = 5;

    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private static double[] logits() {
        double[] values = new double[2 * 4 * VOCAB];
        for (int i = 0; i < values.length; i++) {
            values[i] = Math.sin(1.7 * i) * 3;
        }
        return values;
    }

    private double mean(double[] logits, long[][] labels) {
        NDArray array = manager.create(logits, new Shape(2, 4, VOCAB));
        return CausalLmLoss.mean(array, labels).getDouble();
    }

    /** {@code -log softmax(row)[target]} in doubles. */
    private static double nll(double[] logits, int row, long target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < VOCAB; v++) {
            max = Math.max(max, logits[row * VOCAB + v]);
        }
        double sum = 0;
        for (int v = 0; v < VOCAB; v++) {
            sum += Math.exp(logits[row * VOCAB + v] - max);
        }
        return -(logits[row * VOCAB + (int) target] - max - Math.log(sum));
    }

    @Test
    void meanOverLabelledNextTokensOnly() {
        long[][] labels = {{X, 2, X, 4}, {X, X, 1, X}};
        double[] logits = logits();
        // Row b, position t predicts label [b][t + 1]: rows 0 and 2 of the first sequence, row 1 of the second.
        double expected = (nll(logits, 0, 2) + nll(logits, 2, 4) + nll(logits, 4 + 1, 1)) / 3;
        assertEquals(3, CausalLmLoss.labelledTargets(labels));
        assertEquals(expected, mean(logits, labels), 1e-12);
    }

    @Test
    void whatIgnoredPositionsPredictChangesNothing() {
        long[][] labels = {{X, 2, X, 4}, {X, X, 1, X}};
        double[] logits = logits();
        double before = mean(logits, labels);
        double[] changed = logits.clone();
        // Position 1 of the first sequence predicts an ignored label; position 3 predicts beyond the sequence.
        changed[VOCAB + 2] = Double.NaN;
        changed[3 * VOCAB] = 1e30;
        assertEquals(before, mean(changed, labels), 0);
        double[] labelledChange = logits.clone();
        labelledChange[2 * VOCAB + 4] += 1;
        assertNotEquals(before, mean(labelledChange, labels), "a labelled position's logits do count");
    }

    @Test
    void halfPrecisionLogitsGetAWideLossAndGradients() {
        NDArray logits = manager.create(logits(), new Shape(2, 4, VOCAB)).toType(DataType.FLOAT16, false);
        logits.setRequiresGradient(true);
        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            NDArray loss = CausalLmLoss.mean(logits, new long[][]{{X, 2, X, 4}, {X, X, 1, X}});
            assertEquals(DataType.FLOAT32, loss.getDataType());
            collector.backward(loss);
        }
        NDArray gradient = logits.getGradient();
        assertEquals(DataType.FLOAT16, gradient.getDataType());
        assertTrue(gradient.abs().sum().toType(DataType.FLOAT32, false).getFloat() > 0);
    }
}
