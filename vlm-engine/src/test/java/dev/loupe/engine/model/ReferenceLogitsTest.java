package dev.loupe.engine.model;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.loupe.engine.checkpoint.SafetensorsFile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Loupe's forward pass against the reference implementation: {@code src/test/resources/llava-reference} is a tiny
 * random LLaVA checkpoint (CLIP tower of 3 layers read at layer -2, GELU projector, Llama decoder with grouped-query
 * attention) written by Hugging Face transformers 5.17 with torch 2.11, with the logits transformers computed for
 * two rows, one of them left-padded ({@code src/test/python/make_reference_llava.py} made them). Loading that folder
 * as it was written and running the same rows must give the same logits.
 */
class ReferenceLogitsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long IMAGE = 250;
    /** The rows of the script: the image's 16 tokens at different places, the second row left-padded by 3. */
    private static final long[][] ROWS = {
            join(new long[]{1, 17, 33}, images(16), new long[]{40, 41, 42, 43, 44, 45}),
            join(new long[]{0, 0, 0, 1, 60, 61, 62, 63}, images(16), new long[]{70})};
    private static final int PADDING = 3;

    @Test
    void logitsMatchTransformersOnItsOwnCheckpoint() throws Exception {
        Path folder = folder();
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile reference = SafetensorsFile.open(folder.resolve("reference.safetensors"))) {
            LlavaModel model = HfCheckpoint.load(manager, folder, DataType.FLOAT32);
            assertEquals(-2, model.config().visionFeatureLayer());
            assertArrayEquals(new long[]{2, 25}, reference.tensors().get("input_ids").shape());
            assertSameLogits(manager, model, reference, reference.readFloats("logits"), "transformers");
        }
    }

    /**
     * A LoRA adapter written by PEFT 0.21 itself ({@code src/test/python/make_reference_lora.py}, r 4, alpha 8, on the
     * decoder's q, v, gate and down projections, random B) reads into Loupe's model, which then computes the logits
     * transformers + PEFT computed.
     */
    @Test
    void aPeftAdapterGivesTheLogitsOfPeft() throws Exception {
        Path folder = folder();
        Path adapter = folder.resolveSibling("llava-reference-lora");
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile reference = SafetensorsFile.open(folder.resolve("reference.safetensors"));
                SafetensorsFile withAdapter = SafetensorsFile.open(adapter.resolve("reference-lora.safetensors"))) {
            LlavaModel model = HfCheckpoint.load(manager, folder, DataType.FLOAT32);
            LoraSettings settings = LoraAdapters.load(manager, model, adapter);
            assertEquals(4, settings.rank());
            float[] base = reference.readFloats("logits");
            float[] adapted = withAdapter.readFloats("logits");
            double changed = 0;
            for (int i = 0; i < base.length; i++) {
                changed = Math.max(changed, Math.abs(base[i] - adapted[i]));
            }
            assertTrue(changed > 0.1, "the adapter changes PEFT's logits: " + changed);
            assertSameLogits(manager, model, reference, adapted, "transformers + PEFT");
        }
    }

    /** Runs the script's rows (pictures from the reference file) and compares the logits at every real token. */
    private static void assertSameLogits(NDManager manager, LlavaModel model, SafetensorsFile reference,
            float[] theirs, String against) throws Exception {
        int rows = ROWS.length;
        int length = ROWS[0].length;
        long[] flat = new long[rows * length];
        boolean[][] isToken = new boolean[rows][length];
        for (int b = 0; b < rows; b++) {
            System.arraycopy(ROWS[b], 0, flat, b * length, length);
            for (int t = 0; t < length; t++) {
                isToken[b][t] = b == 0 || t >= PADDING;
            }
        }
        NDArray ids = manager.create(flat, new Shape(rows, length));
        NDArray pixels = manager.create(reference.readFloats("pixel_values"), new Shape(rows, 3, 32, 32));
        float[] ours = model.step(new ParameterStore(manager, false), ids, isToken, pixels, null, false)
                .toFloatArray();
        assertEquals(theirs.length, ours.length);

        int vocabulary = model.config().textConfig().vocabSize();
        double largest = 0;
        double worst = 0;
        for (int b = 0; b < rows; b++) {
            for (int t = 0; t < length; t++) {
                if (!isToken[b][t]) {
                    continue; // transformers' logits at padding are not meaningful
                }
                for (int v = 0; v < vocabulary; v++) {
                    int at = (b * length + t) * vocabulary + v;
                    largest = Math.max(largest, Math.abs(theirs[at]));
                    worst = Math.max(worst, Math.abs(theirs[at] - ours[at]));
                }
            }
        }
        assertTrue(largest > 0.5, "the reference logits are not trivially small: " + largest);
        System.out.printf("logits against %s: largest difference %.2e (logits up to %.2f)%n", against, worst,
                largest);
        assertTrue(worst < 1e-4, "largest difference to " + against + " " + worst);
    }

    @Test
    void aScaledRotaryEmbeddingIsRefusedByName(@TempDir Path dir) throws Exception {
        ObjectNode config = (ObjectNode) JSON.readTree(folder().resolve("config.json").toFile());
        ((ObjectNode) config.path("text_config").path("rope_parameters")).put("rope_type", "linear");
        Path file = dir.resolve("config.json");
        JSON.writeValue(file.toFile(), config);
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> LlavaConfig.read(file));
        assertTrue(refused.getMessage().contains("rope type linear"), refused.getMessage());
    }

    private static Path folder() throws URISyntaxException {
        return Path.of(Objects.requireNonNull(ReferenceLogitsTest.class.getResource("/llava-reference/config.json"))
                .toURI()).getParent();
    }

    private static long[] images(int count) {
        long[] tokens = new long[count];
        Arrays.fill(tokens, IMAGE);
        return tokens;
    }

    private static long[] join(long[]... parts) {
        return Arrays.stream(parts).flatMapToLong(Arrays::stream).toArray();
    }
}
