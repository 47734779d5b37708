package dev.loupe.engine.nn;

import java.nio.DoubleBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each block's gradients against central finite differences in float64, and the properties the masks and
 * positions must have: nothing sees the future, padding changes nothing, rotary attention depends only on
 * relative positions.
 */
class BlocksTest {
    private static final DataType F64 = DataType.FLOAT64;
    private static final int B = 2;
    private static final int T = 5;
    private static final int C = 16;
    private static final int HEADS = 4;
    private static final int KV_HEADS = 2;
    private static final int HEAD_DIM = 8;

    private NDManager manager;
    private final Random random = new Random(7);

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private double[] randoms(int n) {
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            values[i] = random.nextGaussian() * 0.5;
        }
        return values;
    }

    /** Initialises a block in float64 and gives every parameter random values (ones would hide mistakes). */
    private <K extends Block> K initialised(K block, Shape... shapes) {
        block.initialize(manager, F64, shapes);
        for (Pair<String, Parameter> parameter : block.getParameters()) {
            NDArray array = parameter.getValue().getArray();
            array.set(DoubleBuffer.wrap(randoms((int) array.size())));
        }
        return block;
    }

    private NDList attentionInputs(double[] x, boolean[][] tokens) {
        long[] positions = new long[T];
        for (int t = 0; t < T; t++) {
            positions[t] = t;
        }
        NDList cosSin = RotaryEmbedding.cosSin(manager, positions, HEAD_DIM, 10_000, F64);
        return new NDList(manager.create(x, new Shape(B, T, C)), cosSin.get(0), cosSin.get(1),
                AttentionMasks.causal(manager, tokens, T, F64));
    }

    private static boolean[][] allTokens() {
        boolean[][] tokens = new boolean[B][T];
        for (boolean[] row : tokens) {
            java.util.Arrays.fill(row, true);
        }
        return tokens;
    }

    /**
     * Compares d(sum(out * w))/d(input 0) and d/d(each parameter) with central differences at a few coordinates.
     */
    private void assertGradientsMatch(Block block, NDList inputs) {
        ParameterStore store = new ParameterStore(manager, false);
        NDArray x = inputs.get(0);
        x.setRequiresGradient(true);
        Shape outShape = block.forward(store, inputs, false).head().getShape();
        NDArray weights = manager.create(randoms((int) outShape.size()), outShape);
        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            NDArray loss = block.forward(store, inputs, true).head().mul(weights).sum();
            collector.backward(loss);
        }
        List<NDArray> checked = new ArrayList<>(List.of(x));
        for (Pair<String, Parameter> parameter : block.getParameters()) {
            checked.add(parameter.getValue().getArray());
        }
        for (NDArray array : checked) {
            double[] analytic = array.getGradient().toDoubleArray();
            double[] values = array.toDoubleArray();
            for (int probe = 0; probe < 6; probe++) {
                int i = random.nextInt(values.length);
                double numeric = (lossWith(block, store, inputs, weights, array, values, i, 1e-6)
                        - lossWith(block, store, inputs, weights, array, values, i, -1e-6)) / 2e-6;
                double tolerance = 1e-6 * Math.max(1, Math.abs(numeric));
                assertEquals(numeric, analytic[i], tolerance, "gradient of " + array.getShape() + " at " + i);
            }
        }
    }

    private static double lossWith(Block block, ParameterStore store, NDList inputs, NDArray weights,
            NDArray array, double[] values, int index, double delta) {
        double[] moved = values.clone();
        moved[index] += delta;
        array.set(DoubleBuffer.wrap(moved));
        double loss = block.forward(store, inputs, false).head().mul(weights).sum().getDouble();
        array.set(DoubleBuffer.wrap(values));
        return loss;
    }

    @Test
    void rmsNormGradients() {
        RmsNorm norm = initialised(new RmsNorm(C, 1e-6), new Shape(B, T, C));
        assertGradientsMatch(norm, new NDList(manager.create(randoms(B * T * C), new Shape(B, T, C))));
    }

    @Test
    void swiGluGradients() {
        SwiGluMlp mlp = initialised(new SwiGluMlp(C, 24), new Shape(B, T, C));
        assertGradientsMatch(mlp, new NDList(manager.create(randoms(B * T * C), new Shape(B, T, C))));
    }

    @Test
    void groupedQueryAttentionGradients() {
        boolean[][] tokens = allTokens();
        tokens[1][T - 1] = false;
        NDList inputs = attentionInputs(randoms(B * T * C), tokens);
        SelfAttention attention = initialised(new SelfAttention(C, HEADS, KV_HEADS, HEAD_DIM), shapes(inputs));
        assertGradientsMatch(attention, inputs);
    }

    @Test
    void decoderLayerGradients() {
        NDList inputs = attentionInputs(randoms(B * T * C), allTokens());
        DecoderLayer layer = initialised(new DecoderLayer(C, HEADS, KV_HEADS, HEAD_DIM, 24, 1e-6), shapes(inputs));
        assertGradientsMatch(layer, inputs);
    }

    @Test
    void visionLayerGradients() {
        VisionLayer layer = initialised(new VisionLayer(C, HEADS, 24, 1e-5f), new Shape(B, T, C));
        assertGradientsMatch(layer, new NDList(manager.create(randoms(B * T * C), new Shape(B, T, C))));
    }

    @Test
    void visionEncoderAndProjectorGradients() {
        Shape pixels = new Shape(B, 3, 8, 8);
        VisionEncoder encoder = initialised(new VisionEncoder(C, 2, HEADS, 24, 4, 8, -2, 1e-5f), pixels);
        NDList input = new NDList(manager.create(randoms((int) pixels.size()), pixels));
        assertEquals(new Shape(B, 4, C), encoder.forward(new ParameterStore(manager, false), input, false)
                .head()
                .getShape());
        assertGradientsMatch(encoder, input);
        Projector projector = initialised(new Projector(12), new Shape(B, 4, C));
        assertGradientsMatch(projector, new NDList(manager.create(randoms(B * 4 * C), new Shape(B, 4, C))));
    }

    @Test
    void patchEmbeddingIsTheConvolutionItsWeightDescribes() {
        int patch = 2;
        int size = 4;
        int width = 3;
        PatchEmbedding embedding = initialised(new PatchEmbedding(width, patch, size), new Shape(1, 3, size, size));
        double[] pixels = randoms(3 * size * size);
        double[] out = embedding.forward(new ParameterStore(manager, false),
                new NDList(manager.create(pixels, new Shape(1, 3, size, size))), false).head().toDoubleArray();
        double[] kernel = parameter(embedding, "patch_embedding");
        double[] cls = parameter(embedding, "class_embedding");
        double[] position = parameter(embedding, "position_embedding");
        int grid = size / patch;
        for (int c = 0; c < width; c++) {
            assertEquals(cls[c] + position[c], out[c], 1e-12, "class token");
        }
        for (int row = 0; row < grid; row++) {
            for (int col = 0; col < grid; col++) {
                int token = 1 + row * grid + col;
                for (int c = 0; c < width; c++) {
                    double expected = position[token * width + c];
                    for (int channel = 0; channel < 3; channel++) {
                        for (int dy = 0; dy < patch; dy++) {
                            for (int dx = 0; dx < patch; dx++) {
                                double pixel = pixels[(channel * size + row * patch + dy) * size + col * patch + dx];
                                expected += pixel * kernel[((c * 3 + channel) * patch + dy) * patch + dx];
                            }
                        }
                    }
                    assertEquals(expected, out[token * width + c], 1e-12, "patch " + row + "," + col);
                }
            }
        }
    }

    private static double[] parameter(Block block, String name) {
        for (Pair<String, Parameter> parameter : block.getParameters()) {
            if (parameter.getKey().equals(name)) {
                return parameter.getValue().getArray().toDoubleArray();
            }
        }
        throw new AssertionError("no parameter " + name);
    }

    @Test
    void noPositionSeesTheFuture() {
        double[] x = randoms(B * T * C);
        NDList inputs = attentionInputs(x, allTokens());
        DecoderLayer layer = initialised(new DecoderLayer(C, HEADS, KV_HEADS, HEAD_DIM, 24, 1e-6), shapes(inputs));
        ParameterStore store = new ParameterStore(manager, false);
        double[] before = layer.forward(store, inputs, false).head().toDoubleArray();
        double[] changed = x.clone();
        int last = T - 1;
        for (int b = 0; b < B; b++) {
            for (int c = 0; c < C; c++) {
                changed[(b * T + last) * C + c] += 1.0;
            }
        }
        double[] after = layer.forward(store, attentionInputs(changed, allTokens()), false).head().toDoubleArray();
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < last; t++) {
                for (int c = 0; c < C; c++) {
                    int i = (b * T + t) * C + c;
                    assertEquals(before[i], after[i], 1e-12, "position " + t + " changed with the last token");
                }
            }
        }
        int i = ((B - 1) * T + last) * C;
        assertTrue(Math.abs(before[i] - after[i]) > 1e-6, "the last position itself does change");
    }

    @Test
    void paddingAfterASequenceChangesNothingBeforeIt() {
        // Row 1 is 3 tokens followed by 2 padding positions whose content is arbitrary.
        double[] x = randoms(B * T * C);
        boolean[][] tokens = allTokens();
        tokens[1][3] = false;
        tokens[1][4] = false;
        NDList padded = attentionInputs(x, tokens);
        DecoderLayer layer = initialised(new DecoderLayer(C, HEADS, KV_HEADS, HEAD_DIM, 24, 1e-6), shapes(padded));
        ParameterStore store = new ParameterStore(manager, false);
        double[] withPadding = layer.forward(store, padded, false).head().toDoubleArray();

        double[] otherPadding = x.clone();
        for (int t = 3; t < T; t++) {
            for (int c = 0; c < C; c++) {
                otherPadding[(T + t) * C + c] = 100 + c;
            }
        }
        double[] changed = layer.forward(store, attentionInputs(otherPadding, tokens), false).head().toDoubleArray();
        for (int t = 0; t < 3; t++) {
            for (int c = 0; c < C; c++) {
                int i = (T + t) * C + c;
                assertEquals(withPadding[i], changed[i], 1e-12, "token " + t + " saw padding");
            }
        }
        // And row 0, which has no padding, is untouched by what row 1 holds.
        for (int i = 0; i < T * C; i++) {
            assertEquals(withPadding[i], changed[i], 1e-12);
        }
    }

    @Test
    void rotaryScoresDependOnlyOnRelativePosition() {
        double[] q = randoms(HEAD_DIM);
        double[] k = randoms(HEAD_DIM);
        double first = rotatedDot(q, k, 3, 1);
        double shifted = rotatedDot(q, k, 103, 101);
        assertEquals(first, shifted, 1e-9);
        assertTrue(Math.abs(first - rotatedDot(q, k, 3, 2)) > 1e-6, "another distance scores differently");
    }

    private double rotatedDot(double[] q, double[] k, long queryPosition, long keyPosition) {
        NDList atQuery = RotaryEmbedding.cosSin(manager, new long[]{queryPosition}, HEAD_DIM, 10_000, F64);
        NDList atKey = RotaryEmbedding.cosSin(manager, new long[]{keyPosition}, HEAD_DIM, 10_000, F64);
        Shape shape = new Shape(1, 1, 1, HEAD_DIM);
        NDArray rq = RotaryEmbedding.apply(manager.create(q, shape), atQuery.get(0), atQuery.get(1));
        NDArray rk = RotaryEmbedding.apply(manager.create(k, shape), atKey.get(0), atKey.get(1));
        return rq.mul(rk).sum().getDouble();
    }

    private static Shape[] shapes(NDList inputs) {
        return inputs.stream().map(NDArray::getShape).toArray(Shape[]::new);
    }
}
