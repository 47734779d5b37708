package dev.loupe.engine.model;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.loupe.engine.checkpoint.CheckpointFormatException;
import dev.loupe.engine.checkpoint.CheckpointTensors;
import dev.loupe.engine.checkpoint.DType;
import dev.loupe.engine.checkpoint.SafetensorsWriter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A tiny random model written in the Hugging Face layout loads back to the same parameters and logits. */
class HfCheckpointTest {
    @TempDir
    Path dir;
    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private LlavaModel randomModel() {
        LlavaModel model = new LlavaModel(LlavaModelTest.tinyConfig());
        model.setInitializer(new ai.djl.training.initializer.NormalInitializer(0.3f), Parameter.Type.GAMMA);
        model.setInitializer(new ai.djl.training.initializer.NormalInitializer(0.3f), Parameter.Type.BETA);
        model.initialize(manager, DataType.FLOAT32, new Shape(1, 10));
        return model;
    }

    private float[] logits(LlavaModel model) {
        long[] ids = {1, 2, LlavaModelTest.IMAGE, LlavaModelTest.IMAGE, LlavaModelTest.IMAGE, LlavaModelTest.IMAGE, 3,
                4, 5, 6};
        float[] pixels = new float[3 * 8 * 8];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (float) Math.sin(i);
        }
        NDList inputs = new NDList(manager.create(ids, new Shape(1, 10)), manager.ones(new Shape(1, 10)),
                manager.create(pixels, new Shape(1, 3, 8, 8)));
        return model.forward(new ParameterStore(manager, false), inputs, false).head().toFloatArray();
    }

    @Test
    void namesAreTransformersNames() {
        Map<String, Parameter> named = HfCheckpoint.parameters(randomModel());
        for (String name : List.of("language_model.model.embed_tokens.weight", "language_model.lm_head.weight",
                "language_model.model.layers.1.self_attn.q_proj.weight",
                "language_model.model.layers.0.mlp.down_proj.weight",
                "language_model.model.layers.0.post_attention_layernorm.weight", "language_model.model.norm.weight",
                "vision_tower.vision_model.embeddings.patch_embedding.weight",
                "vision_tower.vision_model.embeddings.class_embedding",
                "vision_tower.vision_model.embeddings.position_embedding.weight",
                "vision_tower.vision_model.pre_layrnorm.bias",
                "vision_tower.vision_model.encoder.layers.0.self_attn.out_proj.bias",
                "vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight",
                "vision_tower.vision_model.encoder.layers.0.layer_norm2.weight",
                "multi_modal_projector.linear_2.bias")) {
            assertTrue(named.containsKey(name), name + " in " + named.keySet());
        }
        assertEquals(randomModel().getParameters().size(), named.size(), "every parameter has exactly one name");
    }

    @Test
    void float32SingleFileRoundTripsExactly() throws Exception {
        LlavaModel model = randomModel();
        HfCheckpoint.save(model, dir, DType.F32, Long.MAX_VALUE);
        assertTrue(Files.exists(dir.resolve(CheckpointTensors.SINGLE_FILE)));
        LlavaModel loaded = HfCheckpoint.load(manager, dir, DataType.FLOAT32);
        Map<String, Parameter> expected = HfCheckpoint.parameters(model);
        HfCheckpoint.parameters(loaded).forEach((name, parameter) -> assertArrayEquals(
                expected.get(name).getArray().toFloatArray(), parameter.getArray().toFloatArray(), name));
        assertArrayEquals(logits(model), logits(loaded));
    }

    @Test
    void halfPrecisionShardsLoadWithinTheirRounding() throws Exception {
        LlavaModel model = randomModel();
        float[] reference = logits(model);
        for (DType dtype : List.of(DType.F16, DType.BF16)) {
            Path folder = dir.resolve(dtype.name());
            HfCheckpoint.save(model, folder, dtype, 4_000);
            assertTrue(Files.exists(folder.resolve(CheckpointTensors.INDEX_FILE)), "sharded");
            try (var shards = Files.list(folder)) {
                assertTrue(shards.filter(p -> p.getFileName().toString().startsWith("model-")).count() > 2);
            }
            LlavaModel loaded = HfCheckpoint.load(manager, folder, DataType.FLOAT32);
            double relative = dtype == DType.F16 ? 1e-3 : 8e-3;
            Map<String, Parameter> expected = HfCheckpoint.parameters(model);
            HfCheckpoint.parameters(loaded).forEach((name, parameter) -> {
                float[] want = expected.get(name).getArray().toFloatArray();
                float[] got = parameter.getArray().toFloatArray();
                for (int i = 0; i < want.length; i++) {
                    assertEquals(want[i], got[i], relative * Math.abs(want[i]) + 1e-6, name + "[" + i + "]");
                }
            });
            float[] loadedLogits = logits(loaded);
            for (int i = 0; i < reference.length; i++) {
                assertEquals(reference[i], loadedLogits[i], 0.05, dtype + " logit " + i);
            }
        }
    }

    @Test
    void newerTransformersNamesAndUnusedVisionLayersAreAccepted() throws Exception {
        LlavaModel model = randomModel();
        SafetensorsWriter writer = new SafetensorsWriter();
        for (Map.Entry<String, Parameter> entry : HfCheckpoint.parameters(model).entrySet()) {
            String name = entry.getKey()
                    .replace("language_model.model.", "model.language_model.")
                    .replace("language_model.lm_head.", "lm_head.")
                    .replaceFirst("^vision_tower\\.", "model.vision_tower.")
                    .replaceFirst("^multi_modal_projector\\.", "model.multi_modal_projector.");
            NDArray array = entry.getValue().getArray();
            writer.add(name, DType.F32, array.getShape().getShape(), array.toFloatArray());
        }
        // The last vision layer (LLaVA reads the one before it) and the final vision norm are in real checkpoints.
        writer.add("model.vision_tower.vision_model.encoder.layers.1.mlp.fc1.weight", DType.F32, new long[]{2},
                new float[]{1, 2});
        writer.add("model.vision_tower.vision_model.post_layernorm.weight", DType.F32, new long[]{2},
                new float[]{1, 2});
        writer.write(dir.resolve(CheckpointTensors.SINGLE_FILE));
        model.config().write(dir.resolve(HfCheckpoint.CONFIG_FILE));
        assertArrayEquals(logits(model), logits(HfCheckpoint.load(manager, dir, DataType.FLOAT32)));
    }

    @Test
    void missingOrUnknownTensorsAreNamed() throws Exception {
        LlavaModel model = randomModel();
        Map<String, Parameter> named = HfCheckpoint.parameters(model);
        SafetensorsWriter missing = new SafetensorsWriter();
        named.forEach((name, parameter) -> {
            if (!name.equals("language_model.model.norm.weight")) {
                missing.add(name, DType.F32, parameter.getArray().getShape().getShape(),
                        parameter.getArray().toFloatArray());
            }
        });
        Path first = dir.resolve("missing");
        Files.createDirectories(first);
        missing.write(first.resolve(CheckpointTensors.SINGLE_FILE));
        model.config().write(first.resolve(HfCheckpoint.CONFIG_FILE));
        CheckpointFormatException absent = assertThrows(CheckpointFormatException.class,
                () -> HfCheckpoint.load(manager, first, DataType.FLOAT32));
        assertTrue(absent.getMessage().contains("language_model.model.norm.weight"), absent.getMessage());

        Path second = dir.resolve("unknown");
        HfCheckpoint.save(model, second, DType.F32, Long.MAX_VALUE);
        SafetensorsWriter extra = new SafetensorsWriter();
        named.forEach((name, parameter) -> extra.add(name, DType.F32, parameter.getArray().getShape().getShape(),
                parameter.getArray().toFloatArray()));
        extra.add("language_model.model.layers.7.mlp.up_proj.weight", DType.F32, new long[]{1}, new float[]{1});
        extra.write(second.resolve(CheckpointTensors.SINGLE_FILE));
        CheckpointFormatException unknown = assertThrows(CheckpointFormatException.class,
                () -> HfCheckpoint.load(manager, second, DataType.FLOAT32));
        assertTrue(unknown.getMessage().contains("layers.7"), unknown.getMessage());
    }
}
