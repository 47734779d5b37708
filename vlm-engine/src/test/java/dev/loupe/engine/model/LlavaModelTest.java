package dev.loupe.engine.model;

import java.nio.DoubleBuffer;
import java.nio.file.Path;
import java.util.Random;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The assembled model: shapes, where image features go, what padding and images may change, gradients. */
class LlavaModelTest {
    static final long IMAGE = 49;
    static final int VOCAB = 50;
    static final int IMAGE_TOKENS = 4;

    private NDManager manager;
    private final Random random = new Random(11);

    static LlavaConfig tinyConfig() {
        return new LlavaConfig("llava", IMAGE, "gelu", -2, "default",
                new LlavaConfig.VisionConfig(12, 20, 2, 2, 8, 4, 1e-5),
                new LlavaConfig.TextConfig("llama", VOCAB, 16, 24, 2, 4, 2, 1e-6, 10_000, 64, false));
    }

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private LlavaModel model() {
        LlavaModel model = new LlavaModel(tinyConfig());
        model.initialize(manager, DataType.FLOAT64, new Shape(2, 10));
        for (Pair<String, Parameter> parameter : model.getParameters()) {
            NDArray array = parameter.getValue().getArray();
            double[] values = new double[(int) array.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = random.nextGaussian() * 0.3;
            }
            array.set(DoubleBuffer.wrap(values));
        }
        return model;
    }

    private NDArray pixels(int images) {
        double[] values = new double[images * 3 * 8 * 8];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextGaussian();
        }
        return manager.create(values, new Shape(images, 3, 8, 8));
    }

    private double[] logits(LlavaModel model, long[][] ids, long[][] isToken, NDArray pixels) {
        int batch = ids.length;
        int length = ids[0].length;
        long[] flatIds = new long[batch * length];
        long[] flatTokens = new long[batch * length];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(ids[b], 0, flatIds, b * length, length);
            System.arraycopy(isToken[b], 0, flatTokens, b * length, length);
        }
        NDList inputs = new NDList(manager.create(flatIds, new Shape(batch, length)),
                manager.create(flatTokens, new Shape(batch, length)), pixels);
        NDArray out = model.forward(new ParameterStore(manager, false), inputs, false).head();
        assertEquals(new Shape(batch, length, VOCAB), out.getShape());
        return out.toDoubleArray();
    }

    private static final long[] WITH_IMAGE = {1, 2, IMAGE, IMAGE, IMAGE, IMAGE, 3, 4, 5, 6};
    private static final long[] ALL = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

    @Test
    void configRoundTripsThroughConfigJson(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("config.json");
        tinyConfig().write(file);
        assertEquals(tinyConfig(), LlavaConfig.read(file));
        assertEquals(IMAGE_TOKENS, tinyConfig().imageTokens());
    }

    @Test
    void imageFeaturesChangeOnlyPositionsFromTheImageOn() {
        LlavaModel model = model();
        NDArray first = pixels(1);
        NDArray second = pixels(1);
        double[] a = logits(model, new long[][]{WITH_IMAGE}, new long[][]{ALL}, first);
        double[] b = logits(model, new long[][]{WITH_IMAGE}, new long[][]{ALL}, second);
        for (int t = 0; t < 2; t++) {
            for (int v = 0; v < VOCAB; v++) {
                assertEquals(a[t * VOCAB + v], b[t * VOCAB + v], 1e-12, "before the image, position " + t);
            }
        }
        for (int t = 2; t < WITH_IMAGE.length; t++) {
            double difference = 0;
            for (int v = 0; v < VOCAB; v++) {
                difference += Math.abs(a[t * VOCAB + v] - b[t * VOCAB + v]);
            }
            assertTrue(difference > 1e-6, "position " + t + " must see the image");
        }
    }

    @Test
    void paddingAndBatchNeighboursChangeNothing() {
        LlavaModel model = model();
        NDArray image = pixels(1);
        long[] shortIds = {7, 8, 9, 10, 11, 0, 0, 0, 0, 0};
        long[] shortTokens = {1, 1, 1, 1, 1, 0, 0, 0, 0, 0};
        double[] alone = logits(model, new long[][]{shortIds}, new long[][]{shortTokens}, image);
        long[] otherPadding = {7, 8, 9, 10, 11, 42, 17, 3, 3, 3};
        double[] batched = logits(model, new long[][]{WITH_IMAGE, otherPadding}, new long[][]{ALL, shortTokens},
                image);
        for (int t = 0; t < 5; t++) {
            for (int v = 0; v < VOCAB; v++) {
                assertEquals(alone[t * VOCAB + v], batched[(10 + t) * VOCAB + v], 1e-10, "position " + t);
            }
        }
    }

    @Test
    void gradientsReachTheVisionTowerButNotTheReplacedEmbedding() {
        LlavaModel model = model();
        NDList inputs = new NDList(manager.create(WITH_IMAGE, new Shape(1, 10)), manager.create(ALL, new Shape(1, 10)),
                pixels(1));
        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            NDArray logits = model.forward(new ParameterStore(manager, false), inputs, true).head();
            collector.backward(logits.get(":, -1, 0").sum());
        }
        double patchGradient = 0;
        double[] embeddingGradient = null;
        for (Pair<String, Parameter> parameter : model.getParameters()) {
            NDArray gradient = parameter.getValue().getArray().getGradient();
            if (parameter.getKey().endsWith("patch_embedding")) {
                patchGradient = gradient.abs().sum().getDouble();
            }
            if (parameter.getKey().equals("embed_tokens")) {
                embeddingGradient = gradient.toDoubleArray();
            }
        }
        assertTrue(patchGradient > 0, "the loss reaches the vision tower");
        double imageRow = 0;
        double textRow = 0;
        for (int c = 0; c < 16; c++) {
            imageRow += Math.abs(embeddingGradient[(int) IMAGE * 16 + c]);
            textRow += Math.abs(embeddingGradient[3 * 16 + c]);
        }
        assertEquals(0, imageRow, 0, "the image token's own embedding is replaced, so it learns nothing");
        assertTrue(textRow > 0);
    }

    @Test
    void imageCountMustMatchTheImageTokens() {
        LlavaModel model = model();
        assertThrows(IllegalArgumentException.class,
                () -> logits(model, new long[][]{WITH_IMAGE}, new long[][]{ALL}, pixels(2)));
    }
}
