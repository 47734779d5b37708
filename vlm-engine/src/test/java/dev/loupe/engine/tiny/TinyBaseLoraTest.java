package dev.loupe.engine.tiny;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

import dev.loupe.engine.model.HfCheckpoint;
import dev.loupe.engine.model.LoraAdapters;
import dev.loupe.engine.model.LoraSettings;
import dev.loupe.engine.train.AdamW;
import dev.loupe.engine.train.LearningRateSchedule;
import dev.loupe.engine.train.TrainingLoop;
import dev.loupe.engine.train.TrainingSettings;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Learning, end to end on the committed tiny base model: LoRA fine-tuning on a task the base was never taught
 * lowers the validation loss and raises the exact-match accuracy on held-out scenes by a wide margin, and leaves
 * the base weights untouched.
 */
class TinyBaseLoraTest {
    private static final LoraSettings LORA = new LoraSettings(8, 16, 0f, List.of("q_proj", "k_proj", "v_proj",
            "o_proj", "gate_proj", "up_proj", "down_proj"), false);
    private static final int STEPS = 150;
    private static final int BATCH = 16;
    private static final int VALIDATION_SCENES = 64;

    @Test
    void loraFineTuningLearnsANewTaskAndLeavesTheBaseAsItWas() throws Exception {
        List<Scene> validation = new ArrayList<>();
        SyntheticScenes validationSource = new SyntheticScenes(1001);
        for (int i = 0; i < VALIDATION_SCENES; i++) {
            validation.add(validationSource.scene(i));
        }
        List<Scene.QuestionAnswer> expected = validation.stream().map(Scene::colours).toList();
        SyntheticScenes training = new SyntheticScenes(1000);

        try (NDManager manager = NDManager.newBaseManager(); TinyBase base = TinyBase.load(manager)) {
            SceneTasks.Evaluation before = SceneTasks.evaluate(manager, base.model(), base.tokenizer(), validation,
                    expected, VALIDATION_SCENES);
            Map<String, float[]> baseWeights = baseWeights(base);

            // Seeded, so that the adapters' random start (and so the whole run) is the same every time.
            Engine.getInstance().setRandomSeed(1234);
            LoraAdapters.apply(manager, base.model(), LORA);
            long start = System.nanoTime();
            try (AdamW optimizer = AdamW.builder().build(base.model())) {
                TrainingLoop loop = new TrainingLoop(base.model(), optimizer,
                        new LearningRateSchedule(3e-3, 5, STEPS, 0.1),
                        TrainingSettings.builder().setTotalSteps(STEPS).optSeed(1).build());
                loop.train(position -> {
                    List<Scene> scenes = new ArrayList<>();
                    for (int row = 0; row < BATCH; row++) {
                        scenes.add(training.scene(position * BATCH + row));
                    }
                    return SceneTasks.batch(base.tokenizer(), scenes,
                            scenes.stream().map(Scene::colours).toList());
                });
            }
            double trainingSeconds = (System.nanoTime() - start) / 1e9;
            SceneTasks.Evaluation after = SceneTasks.evaluate(manager, base.model(), base.tokenizer(), validation,
                    expected, VALIDATION_SCENES);

            String figures = String.format(Locale.ROOT, "validation loss %.3f -> %.3f, exact match %.1f%% -> %.1f%%"
                    + " (%d held-out scenes), %d LoRA steps of %d rows in %.0f s; e.g. \"%s\" -> \"%s\"",
                    before.loss(), after.loss(), 100 * before.exactMatch(), 100 * after.exactMatch(),
                    VALIDATION_SCENES, STEPS, BATCH, trainingSeconds, before.answers().get(0),
                    after.answers().get(0));
            System.out.println("tiny base LoRA: " + figures);
            assertTrue(after.loss() < before.loss() / 2, "the validation loss at least halves: " + figures);
            assertTrue(after.exactMatch() >= before.exactMatch() + 0.3,
                    "exact match rises by 30 points at least: " + figures);
            baseWeights(base).forEach((name, values) -> assertArrayEquals(baseWeights.get(name), values,
                    name + " is frozen and must be bitwise unchanged"));
        }
    }

    private static Map<String, float[]> baseWeights(TinyBase base) {
        Map<String, float[]> values = new HashMap<>();
        HfCheckpoint.parameters(base.model()).forEach((name, p) -> values.put(name, p.getArray().toFloatArray()));
        return values;
    }
}
