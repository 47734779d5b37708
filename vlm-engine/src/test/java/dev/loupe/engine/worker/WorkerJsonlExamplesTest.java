package dev.loupe.engine.worker;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.loupe.engine.text.ChatMessage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Examples from JSONL files: what a line holds, and every refusal naming its line. */
class WorkerJsonlExamplesTest {
    private static final String CAT = "{\"id\": \"cat\", \"images\": [\"pictures/cat.png\"], \"messages\": ["
            + "{\"role\": \"user\", \"content\": \"<image>\\nWhat is this?\"}, "
            + "{\"role\": \"assistant\", \"content\": \"A cat.\"}]}";

    @TempDir
    Path dir;
    private Path file;

    @BeforeEach
    void writePictures() throws Exception {
        Files.createDirectories(dir.resolve("data/pictures"));
        Files.write(dir.resolve("data/pictures/cat.png"), new byte[]{1, 2, 3});
        Files.write(dir.resolve("data/pictures/dog.png"), new byte[]{4, 5});
        Files.write(dir.resolve("outside.png"), new byte[]{6});
        file = dir.resolve("data/train.jsonl");
    }

    private List<TrainingExample> load(String... lines) throws Exception {
        Files.write(file, List.of(lines));
        return new JsonlExampleSource(file).load();
    }

    private String refusal(String... lines) {
        return assertThrows(ExampleFormatException.class, () -> load(lines)).getMessage();
    }

    @Test
    void linesWithImagesAndTurnsRead() throws Exception {
        List<TrainingExample> examples = load(CAT, "", "{\"id\": \"two\", \"images\": [\"pictures/cat.png\", "
                + "\"./pictures/dog.png\"], \"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, "
                + "{\"role\": \"user\", \"content\": \"<image> and <image>?\"}, "
                + "{\"role\": \"assistant\", \"content\": \"A cat.\", \"trained\": false}, "
                + "{\"role\": \"user\", \"content\": \"Sure?\"}, "
                + "{\"role\": \"assistant\", \"content\": \"Yes.\", \"trained\": true}]}",
                "{\"id\": \"text\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, "
                        + "{\"role\": \"assistant\", \"content\": \"Hello.\"}]}");

        assertEquals(List.of("cat", "two", "text"), examples.stream().map(TrainingExample::id).toList());
        TrainingExample cat = examples.get(0);
        assertEquals(List.of(new TrainingExample.Turn(ChatMessage.user("<image>\nWhat is this?"), false),
                new TrainingExample.Turn(ChatMessage.assistant("A cat."), true)), cat.turns());
        assertArrayEquals(new byte[]{1, 2, 3}, cat.images().get(0).read());
        TrainingExample two = examples.get(1);
        assertArrayEquals(new byte[]{4, 5}, two.images().get(1).read());
        assertEquals(List.of(false, false, false, false, true),
                two.turns().stream().map(TrainingExample.Turn::trained).toList());
        assertEquals(List.of(), examples.get(2).images());
    }

    @Test
    void anImagePathThatLeavesTheFolderIsRefusedWithItsLine() throws Exception {
        assertEquals("train.jsonl line 2: example cat: images[0] ../outside.png must not contain ..",
                refusal(CAT, CAT.replace("pictures/cat.png", "../outside.png")));
        assertEquals("train.jsonl line 1: example cat: images[0] pictures/../../outside.png must not contain ..",
                refusal(CAT.replace("pictures/cat.png", "pictures/../../outside.png")));
        String absolute = dir.resolve("outside.png").toString();
        assertEquals("train.jsonl line 1: example cat: images[0] " + absolute + " must be a path relative to the "
                + "file's folder", refusal(CAT.replace("pictures/cat.png", absolute)));
        Files.createSymbolicLink(dir.resolve("data/pictures/link.png"), dir.resolve("outside.png"));
        assertEquals("train.jsonl line 1: example cat: images[0] pictures/link.png is a link out of the file's "
                + "folder", refusal(CAT.replace("pictures/cat.png", "pictures/link.png")));
    }

    @Test
    void aMissingImageIsRefusedWithItsLine() {
        assertEquals("train.jsonl line 3: example cat: images[0] pictures/bird.png does not exist ("
                + dir.resolve("data/pictures/bird.png") + ")",
                refusal("", CAT.replace("\"cat\"", "\"first\""), CAT.replace("cat.png", "bird.png")));
    }

    @Test
    void malformedLinesAreRefusedWithTheirLine() {
        assertEquals("train.jsonl line 1: example cat: the messages hold 1 <image> placeholders but images lists 0",
                refusal(CAT.replace("[\"pictures/cat.png\"]", "[]")));
        assertEquals("train.jsonl line 1: example cat: messages[1] has an unknown key weight (known: content, "
                + "role, trained)", refusal(CAT.replace("\"A cat.\"", "\"A cat.\", \"weight\": 2")));
        assertEquals("train.jsonl line 1: example cat: messages[0]: only assistant turns can be trained, not user",
                refusal(CAT.replace("What is this?\"", "What is this?\", \"trained\": true")));
        assertEquals("train.jsonl line 1: example cat: messages[0].role must be user, assistant or system",
                refusal(CAT.replace("\"user\"", "\"human\"")));
        assertEquals("train.jsonl line 1: example cat: no message is a trained assistant turn: nothing to learn",
                refusal(CAT.replace("\"A cat.\"", "\"A cat.\", \"trained\": false")));
        assertEquals("train.jsonl line 2: id cat is already the id of line 1", refusal(CAT, CAT));
        assertEquals("train.jsonl line 1: id must be a string", refusal("{\"messages\": []}"));
        assertEquals("train.jsonl line 1: the line must be a JSON object", refusal("[1]"));
    }

    @Test
    void aFileWithoutExamplesIsRefused() {
        assertEquals(file + " holds no example", refusal("", " "));
    }
}
