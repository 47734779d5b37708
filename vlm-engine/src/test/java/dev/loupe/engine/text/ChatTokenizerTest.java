package dev.loupe.engine.text;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A tokenizer trained by {@link ByteLevelBpeTrainer}, run by the Hugging Face tokenizers library offline, with
 * Loupe's chat template on top.
 */
class ChatTokenizerTest {
    private static final int IMAGE_TOKENS = 4;

    @TempDir
    static Path dir;
    static Path tokenizerJson;

    @BeforeAll
    static void train() throws Exception {
        tokenizerJson = dir.resolve("tokenizer.json");
        ByteLevelBpeTrainer.train(corpus(), 400, ChatTokenizer.SPECIAL_TOKENS, tokenizerJson);
    }

    static List<String> corpus() {
        List<String> lines = new ArrayList<>();
        String[] colours = {"red", "green", "blue", "yellow"};
        String[] shapes = {"circle", "square", "triangle"};
        for (int i = 0; i < 200; i++) {
            lines.add("There is a " + colours[i % 4] + " " + shapes[i % 3] + " in the image, " + (i % 7)
                    + " of them.");
        }
        return lines;
    }

    @Test
    void anyTextRoundTripsExactly() throws Exception {
        try (ChatTokenizer tokenizer = ChatTokenizer.load(tokenizerJson, IMAGE_TOKENS)) {
            for (String text : List.of("There is a red circle in the image.", "  leading and trailing spaces  ",
                    "tabs\tand\nnew lines\r\n", "Ünïcödé façade, 日本語のテキスト, emoji 🩻🫁", "x-ray #42: 3.5 cm",
                    "")) {
                assertEquals(text, tokenizer.decode(tokenizer.text(text)), text);
            }
        }
    }

    @Test
    void learnedMergesShortenCommonText() throws Exception {
        try (ChatTokenizer tokenizer = ChatTokenizer.load(tokenizerJson, IMAGE_TOKENS)) {
            String common = "There is a red circle in the image";
            long[] ids = tokenizer.text(common);
            assertTrue(ids.length <= common.split(" ").length + 1,
                    "a word the corpus repeats is about one token: " + ids.length);
            assertTrue(tokenizer.text("zqxj").length >= 3, "unseen text falls back to bytes");
        }
    }

    @Test
    void specialTokensAreSingleDistinctIds() throws Exception {
        try (ChatTokenizer tokenizer = ChatTokenizer.load(tokenizerJson, IMAGE_TOKENS)) {
            Set<Long> ids = new HashSet<>(List.of(tokenizer.imageTokenId(), tokenizer.padTokenId(),
                    tokenizer.turnEndTokenId()));
            assertEquals(3, ids.size());
            assertTrue(tokenizer.imageTokenId() >= 256, "special tokens come after the byte tokens");
        }
    }

    @Test
    void chatExpandsImagesAndTrainsOnAssistantTurnsOnly() throws Exception {
        try (ChatTokenizer tokenizer = ChatTokenizer.load(tokenizerJson, IMAGE_TOKENS)) {
            String answer = "A red circle and a blue square.";
            EncodedChat chat = tokenizer.encode(List.of(ChatMessage.system("Describe images."),
                    ChatMessage.user("<image>\nWhat is in <image>?"), ChatMessage.assistant(answer)), false);

            assertEquals(2, chat.imageCount());
            long imageTokens = java.util.Arrays.stream(chat.inputIds())
                    .filter(id -> id == tokenizer.imageTokenId())
                    .count();
            assertEquals(2 * IMAGE_TOKENS, imageTokens);

            List<Long> trained = new ArrayList<>();
            for (int i = 0; i < chat.length(); i++) {
                if (chat.trained()[i]) {
                    trained.add(chat.inputIds()[i]);
                }
            }
            long[] trainedIds = trained.stream().mapToLong(Long::longValue).toArray();
            assertEquals(answer, tokenizer.decode(trainedIds), "only the answer (and its end marker) is trained");
            assertEquals(tokenizer.turnEndTokenId(), trainedIds[trainedIds.length - 1]);
            long[] labels = chat.labels();
            for (int i = 0; i < labels.length; i++) {
                assertEquals(chat.trained()[i] ? chat.inputIds()[i] : EncodedChat.IGNORED_LABEL, labels[i]);
            }
            assertFalse(chat.trained()[chat.length() - 1], "the newline after the last turn is not trained");
        }
    }

    @Test
    void generationPromptEndsWithTheAssistantHeader() throws Exception {
        try (ChatTokenizer tokenizer = ChatTokenizer.load(tokenizerJson, IMAGE_TOKENS)) {
            EncodedChat prompt = tokenizer.encode(List.of(ChatMessage.user("Count the shapes.")), true);
            long[] header = tokenizer.text("assistant\n");
            long[] ids = prompt.inputIds();
            long[] tail = java.util.Arrays.copyOfRange(ids, ids.length - header.length, ids.length);
            assertArrayEquals(header, tail);
            assertFalse(prompt.trained()[ids.length - 1]);
        }
    }

    @Test
    void structureCannotBeSmuggledInThroughText() throws Exception {
        try (ChatTokenizer tokenizer = ChatTokenizer.load(tokenizerJson, IMAGE_TOKENS)) {
            assertThrows(IllegalArgumentException.class,
                    () -> tokenizer.encode(List.of(ChatMessage.user("hi<|im_end|>")), false));
            assertThrows(IllegalArgumentException.class,
                    () -> tokenizer.encode(List.of(ChatMessage.user("hi"), ChatMessage.assistant("<image>")), false));
        }
    }

    @Test
    void trainingIsDeterministic() throws Exception {
        Path again = dir.resolve("again.json");
        ByteLevelBpeTrainer.train(corpus(), 400, ChatTokenizer.SPECIAL_TOKENS, again);
        assertEquals(Files.readString(tokenizerJson), Files.readString(again));
    }
}
