package dev.loupe.engine.worker;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.loupe.engine.image.ImagePreprocessor;
import dev.loupe.engine.text.ByteLevelBpeTrainer;
import dev.loupe.engine.text.ChatMessage;
import dev.loupe.engine.text.ChatTokenizer;
import dev.loupe.engine.text.EncodedChat;
import dev.loupe.engine.train.TrainingBatch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Batches by position: each epoch a seeded permutation, the same for the same seed, short steps at its end. */
class WorkerExampleBatchesTest {
    @TempDir
    static Path dir;
    static ChatTokenizer tokenizer;

    @BeforeAll
    static void trainTokenizer() throws Exception {
        Path file = dir.resolve("tokenizer.json");
        ByteLevelBpeTrainer.train(List.of("user\nassistant\nnumber one two three four five"), 280,
                ChatTokenizer.SPECIAL_TOKENS, file);
        tokenizer = ChatTokenizer.load(file, 4);
    }

    @AfterAll
    static void closeTokenizer() {
        tokenizer.close();
    }

    private static List<EncodedExample> examples(int count) {
        List<EncodedExample> examples = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            examples.add(EncodedExample.encode(tokenizer, new TrainingExample("e" + i, List.of(), List.of(
                    new TrainingExample.Turn(ChatMessage.user("number " + i), false),
                    new TrainingExample.Turn(ChatMessage.assistant("x".repeat(i + 1)), true)))));
        }
        return examples;
    }

    private static ExampleBatches batches(List<EncodedExample> examples, long seed) {
        return new ExampleBatches(examples, 2, 2, seed, ImagePreprocessor.clip(8), tokenizer.padTokenId());
    }

    /** Which examples a batch holds, found by their token rows (each example's are unique). */
    private static List<Integer> rows(TrainingBatch batch, List<EncodedExample> examples) {
        List<Integer> found = new ArrayList<>();
        for (int b = 0; b < batch.size(); b++) {
            for (int e = 0; e < examples.size(); e++) {
                long[] ids = examples.get(e).chat().inputIds();
                if (Arrays.equals(ids, Arrays.copyOf(batch.inputIds()[b], ids.length))
                        && (ids.length == batch.length() || !batch.isToken()[b][ids.length])) {
                    found.add(e);
                }
            }
        }
        return found;
    }

    @Test
    void everyEpochReadsEveryExampleOnceInItsOwnSeededOrder() {
        // 5 examples, 2 a batch, 2 batches a step: 2 steps an epoch, the last with a batch of 1 and an empty one.
        List<EncodedExample> examples = examples(5);
        ExampleBatches data = batches(examples, 11);
        assertEquals(2, data.stepsPerEpoch());

        List<List<Integer>> epochs = new ArrayList<>();
        for (int epoch = 0; epoch < 3; epoch++) {
            List<Integer> order = new ArrayList<>();
            for (int j = 0; j < 4; j++) {
                TrainingBatch batch = data.batch(epoch * 4L + j);
                List<Integer> rows = rows(batch, examples);
                assertEquals(j < 2 ? 2 : j == 2 ? 1 : 0, rows.size(), "batch " + j + " of epoch " + epoch);
                order.addAll(rows);
            }
            assertEquals(Set.of(0, 1, 2, 3, 4), new HashSet<>(order));
            assertEquals(5, order.size());
            epochs.add(order);
        }
        assertNotEquals(epochs.get(0), epochs.get(1));

        TrainingBatch empty = data.batch(3);
        assertEquals(0, empty.tokenCount());
        assertArrayEquals(new long[]{EncodedChat.IGNORED_LABEL}, empty.labels()[0]);

        // Another reader with the same seed, read out of order (as a resumed run does), gets the same batches.
        ExampleBatches again = batches(examples, 11);
        for (long position : new long[]{9, 2, 5, 0}) {
            assertEquals(rows(data.batch(position), examples), rows(again.batch(position), examples));
        }
        ExampleBatches otherSeed = batches(examples, 12);
        assertFalse(Arrays.equals(data.order(0), otherSeed.order(0)) && Arrays.equals(data.order(1),
                otherSeed.order(1)), "another seed, other orders");
    }

    @Test
    void anUntrainedAssistantTurnIsLeftOutOfTheLoss() {
        TrainingExample example = new TrainingExample("e", List.of(), List.of(
                new TrainingExample.Turn(ChatMessage.user("one"), false),
                new TrainingExample.Turn(ChatMessage.assistant("two"), false),
                new TrainingExample.Turn(ChatMessage.user("three"), false),
                new TrainingExample.Turn(ChatMessage.assistant("four"), true)));

        EncodedExample encoded = EncodedExample.encode(tokenizer, example);

        EncodedChat all = tokenizer.encode(example.messages(), false);
        assertArrayEquals(all.inputIds(), encoded.chat().inputIds());
        int firstTurns = tokenizer.encode(example.messages().subList(0, 3), false).length();
        for (int i = 0; i < all.length(); i++) {
            assertEquals(i >= firstTurns && all.trained()[i], encoded.chat().trained()[i], "token " + i);
        }
        assertTrue(encoded.labelledTargets() > 0);
    }
}
