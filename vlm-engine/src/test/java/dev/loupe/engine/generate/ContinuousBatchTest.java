package dev.loupe.engine.generate;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import dev.loupe.engine.text.ChatMessage;
import dev.loupe.engine.tiny.Scene;
import dev.loupe.engine.tiny.SyntheticScenes;
import dev.loupe.engine.tiny.TinyBase;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Continuous batching: rows that join a running batch, or run beside rows that join and leave, produce exactly the
 * tokens they produce alone.
 */
class ContinuousBatchTest {
    private static final String[] QUESTIONS = {Scene.CAPTION_QUESTION, Scene.COLOURS_QUESTION,
            "How many shapes are there?", "What word is written?"};

    @Test
    void rowsJoiningAndLeavingAnswerAsTheyDoAlone() throws Exception {
        try (NDManager manager = NDManager.newBaseManager(); TinyBase base = TinyBase.load(manager)) {
            SyntheticScenes scenes = new SyntheticScenes(31);
            List<Generator.Request> requests = new ArrayList<>();
            List<BufferedImage> images = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                images.add(SyntheticScenes.render(scenes.scene(i)));
                long[] prompt = base.tokenizer()
                        .encode(List.of(ChatMessage.user("<image>\n" + QUESTIONS[i % QUESTIONS.length])), true)
                        .inputIds();
                // Different lengths, so that rows leave at different steps; one samples with a seed.
                SamplingSettings settings = i == 4
                        ? new SamplingSettings(12, 0.8, 0, 0.9, 77, Set.of(base.tokenizer().turnEndTokenId()))
                        : SamplingSettings.greedy(4 + 3 * i, Set.of(base.tokenizer().turnEndTokenId()));
                requests.add(new Generator.Request(prompt, settings, Optional.empty()));
            }
            Generator generator = new Generator(base.model(), base.tokenizer().padTokenId());
            List<long[]> alone = new ArrayList<>();
            for (int i = 0; i < requests.size(); i++) {
                alone.add(generator.generate(manager, List.of(requests.get(i)), pixels(manager, images.get(i)), true,
                        Generator.TokenListener.NONE).get(0).tokens());
            }

            Map<Integer, Generation> finished = new HashMap<>();
            Map<Integer, List<Long>> heard = new HashMap<>();
            try (ContinuousBatch batch = new ContinuousBatch(manager, base.model(), base.tokenizer().padTokenId())) {
                // Rows 0 and 1 start; 2 joins after two steps, 3 and 4 after five, 5 when the first rows have left.
                join(batch, manager, requests, images, List.of(0, 1), finished, heard);
                step(batch, 2);
                join(batch, manager, requests, images, List.of(2), finished, heard);
                // Row 2 joined rows 0 and 1 while they generate.
                assertEquals(3, batch.size());
                step(batch, 3);
                join(batch, manager, requests, images, List.of(3, 4), finished, heard);
                assertTrue(finished.containsKey(0), "row 0 (4 tokens) has left");
                step(batch, 6);
                join(batch, manager, requests, images, List.of(5), finished, heard);
                int steps = 0;
                while (batch.size() > 0) {
                    batch.step();
                    steps++;
                    assertTrue(steps < 100, "the batch never empties");
                }
            }
            assertEquals(requests.size(), finished.size());
            for (int i = 0; i < requests.size(); i++) {
                assertArrayEquals(alone.get(i), finished.get(i).tokens(), "row " + i);
                assertArrayEquals(alone.get(i), heard.get(i).stream().mapToLong(Long::longValue).toArray(),
                        "the listener of row " + i);
            }
        }
    }

    private static void step(ContinuousBatch batch, int steps) {
        for (int s = 0; s < steps; s++) {
            batch.step();
        }
    }

    private static void join(ContinuousBatch batch, NDManager manager, List<Generator.Request> requests,
            List<BufferedImage> images, List<Integer> rows, Map<Integer, Generation> finished,
            Map<Integer, List<Long>> heard) {
        List<ContinuousBatch.RowListener> listeners = new ArrayList<>();
        List<BufferedImage> joiningImages = new ArrayList<>();
        for (int row : rows) {
            heard.put(row, new ArrayList<>());
            joiningImages.add(images.get(row));
            listeners.add(new ContinuousBatch.RowListener() {
                @Override
                public boolean onToken(long token) {
                    heard.get(row).add(token);
                    return true;
                }

                @Override
                public void onFinish(Generation generation) {
                    finished.put(row, generation);
                }
            });
        }
        NDArray pixels = manager.create(TinyBase.pixels(joiningImages), new Shape(joiningImages.size(), 3,
                SyntheticScenes.IMAGE_SIZE, SyntheticScenes.IMAGE_SIZE));
        batch.add(rows.stream().map(requests::get).toList(), listeners, pixels);
    }

    private static NDArray pixels(NDManager manager, BufferedImage image) {
        return manager.create(TinyBase.pixels(List.of(image)), new Shape(1, 3, SyntheticScenes.IMAGE_SIZE,
                SyntheticScenes.IMAGE_SIZE));
    }
}
