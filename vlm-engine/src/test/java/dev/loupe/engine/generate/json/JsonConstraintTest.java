package dev.loupe.engine.generate.json;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.loupe.engine.text.ByteLevelBpeTrainer;
import dev.loupe.engine.text.ChatTokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Schemas read or refused, and the per-step masks over a vocabulary's tokens. */
class JsonConstraintTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode schema(String text) {
        try {
            return JSON.readTree(text);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException(e);
        }
    }

    @Test
    void unsupportedKeywordsAreRefusedWithTheirPointer() {
        Map<String, String> refused = Map.ofEntries(
                Map.entry(
                        "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\", \"pattern\": \"^x\"}}}",
                        "/properties/a/pattern"),
                Map.entry(
                        "{\"type\": \"object\", \"properties\": {\"a/b~\": {\"type\": \"string\", \"format\": \"date\"}}}",
                        "/properties/a~1b~0/format"),
                Map.entry("{\"type\": \"object\", \"additionalProperties\": true}", "/additionalProperties"),
                Map.entry("{\"type\": \"object\", \"additionalProperties\": {\"type\": \"string\"}}",
                        "/additionalProperties"),
                Map.entry("{\"type\": [\"string\", \"null\"]}", "/type"),
                Map.entry("{\"$ref\": \"#/$defs/box\"}", "/$ref"),
                Map.entry("{\"anyOf\": [{\"type\": \"string\"}]}", "/anyOf"),
                Map.entry("{\"type\": \"number\", \"minimum\": 0}", "/minimum"),
                Map.entry("{\"type\": \"string\", \"maxItems\": 2}", "/maxItems"),
                Map.entry("{\"type\": \"array\", \"items\": [{\"type\": \"string\"}]}", "/items"),
                Map.entry("{\"type\": \"array\", \"items\": {\"type\": \"integer\"}, \"uniqueItems\": true}",
                        "/uniqueItems"),
                Map.entry("{\"type\": \"array\", \"items\": {\"type\": \"integer\"}, \"minItems\": 3, \"maxItems\": 2}",
                        "/maxItems"),
                Map.entry("{\"type\": \"object\", \"properties\": {}, \"required\": [\"z\"]}", "/required/0"),
                Map.entry("{\"enum\": [\"a\", {\"b\": 1}]}", "/enum/1"),
                Map.entry("{\"type\": \"integer\", \"enum\": [1, 2.5]}", "/enum/1"),
                Map.entry("{\"type\": \"array\", \"items\": {\"type\": \"object\", \"properties\": "
                        + "{\"x\": {\"const\": 1}}}}", "/items/properties/x/const"),
                Map.entry("{\"type\": \"string\", \"maxLength\": -1}", "/maxLength"),
                Map.entry("true", ""));
        for (Map.Entry<String, String> entry : refused.entrySet()) {
            IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                    () -> SchemaReader.read(schema(entry.getKey())), entry.getKey());
            assertTrue(error.getMessage().contains("JSON pointer \"" + entry.getValue() + "\""),
                    entry.getKey() + " -> " + error.getMessage());
        }
        // Annotations change nothing and are let through.
        SchemaReader.read(schema("{\"$schema\": \"https://json-schema.org/draft/2020-12/schema\", \"title\": \"t\","
                + " \"type\": \"string\", \"description\": \"d\"}"));
    }

    /** A vocabulary of every single byte, a few multi-byte tokens and one special token (the stop token). */
    private static final class SmallVocabulary {
        final List<byte[]> tokens = new ArrayList<>();
        final long stop;

        SmallVocabulary(String... pieces) {
            for (int b = 0; b < 256; b++) {
                tokens.add(new byte[]{(byte) b});
            }
            for (String piece : pieces) {
                tokens.add(piece.getBytes(StandardCharsets.UTF_8));
            }
            stop = tokens.size();
            tokens.add(null);
        }

        long id(String piece) {
            byte[] bytes = piece.getBytes(StandardCharsets.UTF_8);
            for (int id = 0; id < tokens.size(); id++) {
                if (Arrays.equals(tokens.get(id), bytes)) {
                    return id;
                }
            }
            throw new IllegalArgumentException(piece);
        }
    }

    @Test
    void theMaskAllowsExactlyTheTokensThatContinue() {
        SmallVocabulary small = new SmallVocabulary("{\"", "label", "\":\"", "cat", "dog\"", "cow", "\",\"", "count",
                "\":", "12", "},", "}", "  ", "\n  ", "\"}");
        TokenVocabulary vocabulary = TokenVocabulary.of(small.tokens);
        JsonConstraint constraint = JsonConstraint.of(schema(JsonPrefixTest.DETECTION), vocabulary);

        JsonPrefix state = constraint.start();
        for (String piece : List.of("{\"", "label", "\":\"", "dog\"", ",", "\"", "count", "\":", "12", "}")) {
            BitSet allowed = constraint.allowedTokens(state);
            for (int token = 0; token < vocabulary.size(); token++) {
                byte[] bytes = small.tokens.get(token);
                boolean continues = bytes != null && state.accept(bytes) != null;
                assertEquals(continues, allowed.get(token), "token " + token + " before " + piece);
            }
            assertTrue(allowed.get((int) small.id(piece)), piece);
            assertFalse(allowed.get((int) small.stop), "the stop token is no byte of the document");
            state = constraint.advance(state, small.id(piece));
        }
        assertTrue(state.isFinished());

        double[] logits = new double[vocabulary.size() + 2];
        constraint.mask(state, logits, Set.of(small.stop));
        for (int token = 0; token < logits.length; token++) {
            assertEquals(token == small.stop ? 0 : Double.NEGATIVE_INFINITY, logits[token], "token " + token);
        }
        JsonPrefix finished = state;
        assertThrows(IllegalArgumentException.class, () -> constraint.advance(finished, small.id(" ")));
    }

    @Test
    void aSpecificPrefixAllowsTheExpectedTokens() {
        SmallVocabulary small = new SmallVocabulary("cat", "cat\"", "cow", "dog\"", "\":\"", "\",\"", "  ");
        JsonConstraint constraint = JsonConstraint.of(schema(JsonPrefixTest.DETECTION), TokenVocabulary.of(
                small.tokens));
        JsonPrefix inLabel = JsonPrefixTest.start(JsonPrefixTest.DETECTION)
                .accept("{\"label\":\"".getBytes(StandardCharsets.UTF_8));
        BitSet allowed = constraint.allowedTokens(inLabel);
        assertEquals(Set.of("c", "d", "cat", "cat\"", "dog\""), pieces(small, allowed));

        double[] logits = new double[small.tokens.size()];
        constraint.mask(inLabel, logits, Set.of(small.stop));
        assertEquals(Double.NEGATIVE_INFINITY, logits[(int) small.stop], "not before the document is complete");
    }

    private static Set<String> pieces(SmallVocabulary small, BitSet tokens) {
        return tokens.stream()
                .mapToObj(id -> new String(small.tokens.get(id), StandardCharsets.UTF_8))
                .collect(java.util.stream.Collectors.toSet());
    }

    @Test
    void tokensMaySplitAUtf8Character() {
        // é is C3 A9, 🙂 is F0 9F 99 82: tokens that end or start inside them.
        SmallVocabulary small = new SmallVocabulary();
        int cafLead = add(small, '"', 'c', 'a', 'f', 0xC3);
        int tail = add(small, 0xA9, '"');
        int emojiStart = add(small, 0xF0, 0x9F);
        int emojiEnd = add(small, 0x99, 0x82, '"');
        JsonConstraint constraint = JsonConstraint.of(schema("{\"type\": \"string\", \"maxLength\": 5}"),
                TokenVocabulary.of(small.tokens));

        JsonPrefix split = constraint.advance(constraint.start(), cafLead);
        BitSet allowed = constraint.allowedTokens(split);
        for (int token = allowed.nextSetBit(0); token >= 0; token = allowed.nextSetBit(token + 1)) {
            int first = small.tokens.get(token)[0] & 0xff;
            assertTrue(first >= 0x80 && first <= 0xBF, "only a continuation byte may follow C3: token " + token);
        }
        assertTrue(allowed.get(tail));
        assertFalse(allowed.get(emojiStart));
        JsonPrefix done = constraint.advance(split, tail);
        assertTrue(done.isFinished());

        JsonPrefix open = constraint.advance(constraint.start(), '"');
        JsonPrefix half = constraint.advance(open, emojiStart);
        assertFalse(constraint.allowedTokens(half).get('"'), "no closing quote inside a character");
        assertTrue(constraint.advance(half, emojiEnd).isFinished());
    }

    private static int add(SmallVocabulary small, int... bytes) {
        byte[] token = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            token[i] = (byte) bytes[i];
        }
        small.tokens.add(token);
        return small.tokens.size() - 1;
    }

    @Test
    void aVocabularyMustCoverEveryByte() {
        List<byte[]> tokens = new ArrayList<>();
        for (int b = 0; b < 255; b++) {
            tokens.add(new byte[]{(byte) b});
        }
        assertThrows(IllegalArgumentException.class, () -> TokenVocabulary.of(tokens));
    }

    @Test
    void theVocabularyOfATokenizerFileHasTheTokenizersBytes(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tokenizer.json");
        ByteLevelBpeTrainer.train(List.of("{\"label\": \"cat\", \"count\": 3}", "{\"label\": \"dog\", \"count\": 12}",
                "Ünïcödé café, 日本語 🙂"), 300, ChatTokenizer.SPECIAL_TOKENS, file);
        TokenVocabulary vocabulary = TokenVocabulary.fromTokenizerJson(file);
        try (ChatTokenizer tokenizer = ChatTokenizer.load(file, 4)) {
            assertTrue(vocabulary.size() > 256 + ChatTokenizer.SPECIAL_TOKENS.size(), "merges were learned");
            for (long special : List.of(tokenizer.imageTokenId(), tokenizer.padTokenId(), tokenizer.turnEndTokenId())) {
                assertNull(vocabulary.bytes(special));
            }
            int checked = 0;
            for (int id = 0; id < vocabulary.size(); id++) {
                byte[] bytes = vocabulary.bytes(id);
                String text = bytes == null ? null : strictUtf8(bytes);
                if (text != null) {
                    assertEquals(text, tokenizer.decode(new long[]{id}), "token " + id);
                    checked++;
                }
            }
            assertTrue(checked > 100, "tokens that are whole characters: " + checked);

            String document = "{\"label\": \"café 🙂\", \"count\": 12}";
            ByteArrayOutputStream joined = new ByteArrayOutputStream();
            for (long id : tokenizer.text(document)) {
                joined.writeBytes(vocabulary.bytes(id));
            }
            assertArrayEquals(document.getBytes(StandardCharsets.UTF_8), joined.toByteArray());
        }
    }

    /** The text of the bytes, or null when they are not whole UTF-8 characters. */
    private static String strictUtf8(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
