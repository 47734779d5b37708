package dev.loupe.engine.model;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.Pair;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.loupe.engine.checkpoint.CheckpointFormatException;
import dev.loupe.engine.checkpoint.DType;
import dev.loupe.engine.checkpoint.SafetensorsFile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LoRA adapters: neutral at the start, only they learn, they reload exactly, and merging keeps the logits. */
class LoraAdaptersTest {
    private static final LoraSettings SETTINGS = new LoraSettings(4, 8, 0f, List.of("q_proj", "v_proj",
            "gate_proj"), true);

    @TempDir
    Path dir;
    private NDManager manager;

    @BeforeEach
    void open() {
        // Random initialisation, seeded so that every run trains the same model.
        Engine.getInstance().setRandomSeed(1234);
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private Path savedBase() throws Exception {
        LlavaModel base = new LlavaModel(LlavaModelTest.tinyConfig());
        base.setInitializer(new NormalInitializer(0.3f), Parameter.Type.GAMMA);
        base.initialize(manager, DataType.FLOAT32, new Shape(1, 10));
        Path folder = dir.resolve("base");
        HfCheckpoint.save(base, folder, DType.F32, Long.MAX_VALUE);
        return folder;
    }

    private NDList inputs() {
        long[] ids = {1, 2, LlavaModelTest.IMAGE, LlavaModelTest.IMAGE, LlavaModelTest.IMAGE, LlavaModelTest.IMAGE, 3,
                4, 5, 6};
        float[] pixels = new float[3 * 8 * 8];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (float) Math.sin(0.3 * i);
        }
        return new NDList(manager.create(ids, new Shape(1, 10)), manager.ones(new Shape(1, 10)),
                manager.create(pixels, new Shape(1, 3, 8, 8)));
    }

    private float[] logits(LlavaModel model) {
        return model.forward(new ParameterStore(manager, false), inputs(), false).head().toFloatArray();
    }

    /** A base checkpoint, an adapter trained on it and saved, and the logits the adapted model gave. */
    private record Trained(Path base, Path adapter, float[] logits) {
    }

    private Trained trainedAdapter() throws Exception {
        Path base = savedBase();
        LlavaModel model = HfCheckpoint.load(manager, base, DataType.FLOAT32);
        LoraAdapters.apply(manager, model, SETTINGS);
        train(model);
        Path adapter = dir.resolve("adapter");
        LoraAdapters.save(model, SETTINGS, adapter);
        return new Trained(base, adapter, logits(model));
    }

    /** A few plain gradient steps that push the first position's logits towards token 7. */
    private void train(LlavaModel model) {
        for (int step = 0; step < 5; step++) {
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray logits = model.forward(new ParameterStore(manager, false), inputs(), true).head();
                collector.backward(logits.get(":, :, 7").sum().neg());
            }
            for (Pair<String, Parameter> parameter : model.getParameters()) {
                NDArray array = parameter.getValue().getArray();
                if (parameter.getValue().requiresGradient()) {
                    array.subi(array.getGradient().mul(manager.create(0.05f)));
                }
            }
        }
    }

    /** The objective {@link #train} raises: token 7's logit summed over the positions. */
    private static double tokenSevenTotal(float[] logits) {
        double total = 0;
        for (int i = 7; i < logits.length; i += LlavaModelTest.VOCAB) {
            total += logits[i];
        }
        return total;
    }

    private static Map<String, float[]> baseValues(LlavaModel model) {
        Map<String, float[]> values = new HashMap<>();
        HfCheckpoint.parameters(model).forEach((name, p) -> values.put(name, p.getArray().toFloatArray()));
        return values;
    }

    @Test
    void adaptersStartNeutralAndOnlyTheyLearn() throws Exception {
        LlavaModel model = HfCheckpoint.load(manager, savedBase(), DataType.FLOAT32);
        float[] before = logits(model);
        List<String> adapted = LoraAdapters.apply(manager, model, SETTINGS);
        assertTrue(adapted.contains("language_model.model.layers.0.self_attn.q_proj"), adapted.toString());
        assertTrue(adapted.contains("vision_tower.vision_model.encoder.layers.0.self_attn.v_proj"));
        assertFalse(adapted.stream().anyMatch(name -> name.startsWith("multi_modal_projector")));
        assertArrayEquals(before, logits(model), "B starts at zero: the adapted model is the base model");

        Map<String, float[]> frozen = baseValues(model);
        train(model);
        baseValues(model).forEach((name, values) -> assertArrayEquals(frozen.get(name), values,
                name + " is frozen and must be bitwise unchanged"));
        float[] after = logits(model);
        assertTrue(tokenSevenTotal(after) > tokenSevenTotal(before),
                "training moved the adapted model towards token 7");
    }

    @Test
    void aSavedAdapterReloadsToIdenticalLogitsAndMergesWithinTolerance() throws Exception {
        Trained trained = trainedAdapter();
        Path base = trained.base();
        Path adapter = trained.adapter();
        float[] adapted = trained.logits();

        JsonNode config = new ObjectMapper().readTree(adapter.resolve(LoraAdapters.CONFIG_FILE).toFile());
        assertEquals("LORA", config.path("peft_type").asText());
        assertEquals(4, config.path("r").asInt());
        try (SafetensorsFile weights = SafetensorsFile.open(adapter.resolve(LoraAdapters.WEIGHTS_FILE))) {
            assertTrue(weights.tensors()
                    .containsKey("base_model.model.language_model.model.layers.1.mlp.gate_proj.lora_B.weight"));
        }

        LlavaModel reloaded = HfCheckpoint.load(manager, base, DataType.FLOAT32);
        assertEquals(SETTINGS, LoraAdapters.load(manager, reloaded, adapter));
        assertArrayEquals(adapted, logits(reloaded));

        LoraAdapters.merge(reloaded);
        List<String> leftOver = new ArrayList<>();
        reloaded.getParameters().forEach(p -> {
            if (p.getKey().contains("lora_")) {
                leftOver.add(p.getKey());
            }
        });
        assertEquals(List.of(), leftOver, "merging removes the adapters");
        float[] merged = logits(reloaded);
        for (int i = 0; i < adapted.length; i++) {
            assertEquals(adapted[i], merged[i], 1e-5, "logit " + i);
        }
    }

    @Test
    void peftsListFormOfTargetModulesLoadsAndWhatLoupeCannotReproduceIsRefused() throws Exception {
        Trained trained = trainedAdapter();
        Path base = trained.base();
        Path adapter = trained.adapter();
        float[] adapted = trained.logits();
        ObjectMapper json = new ObjectMapper();
        Path configFile = adapter.resolve(LoraAdapters.CONFIG_FILE);
        ObjectNode written = (ObjectNode) json.readTree(configFile.toFile());

        // PEFT's most common form: a list of last names, matched in every tower (the vision tower's q_proj too).
        ObjectNode listed = written.deepCopy();
        listed.remove("loupe_vision_encoder");
        listed.putArray("target_modules").add("q_proj").add("v_proj").add("gate_proj");
        json.writeValue(configFile.toFile(), listed);
        LlavaModel reloaded = HfCheckpoint.load(manager, base, DataType.FLOAT32);
        assertEquals(SETTINGS, LoraAdapters.load(manager, reloaded, adapter));
        assertArrayEquals(adapted, logits(reloaded));

        // Fewer names than the file has tensors for: loading would drop part of the adapter.
        listed.putArray("target_modules").add("q_proj").add("v_proj");
        assertRefused(json, configFile, listed, base, adapter, "gate_proj.lora_");
        // Settings that change what the adapter computes are refused by name.
        for (String flag : List.of("use_dora", "use_rslora")) {
            assertRefused(json, configFile, written.deepCopy().put(flag, true), base, adapter, flag);
        }
        ObjectNode ranks = written.deepCopy();
        ranks.putObject("rank_pattern").put("q_proj", 8);
        assertRefused(json, configFile, ranks, base, adapter, "rank_pattern");
    }

    private void assertRefused(ObjectMapper json, Path configFile, ObjectNode config, Path base, Path adapter,
            String expected) throws Exception {
        json.writeValue(configFile.toFile(), config);
        LlavaModel model = HfCheckpoint.load(manager, base, DataType.FLOAT32);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                () -> LoraAdapters.load(manager, model, adapter));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
