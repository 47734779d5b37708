package dev.loupe.engine.generate.json;

import java.nio.charset.StandardCharsets;
import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The recogniser byte by byte: which prefixes of which schemas it accepts, and when a document is complete. */
class JsonPrefixTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String DETECTION = """
            {"type": "object", "properties": {
              "label": {"enum": ["cat", "dog"]},
              "count": {"type": "integer"},
              "boxes": {"type": "array", "items": {"type": "number"}, "maxItems": 4}},
             "required": ["label", "count"], "additionalProperties": false}""";

    static JsonPrefix start(String schema) {
        try {
            return JsonPrefix.start(SchemaReader.read(JSON.readTree(schema)));
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static JsonPrefix read(String schema, String text) {
        return start(schema).accept(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Every prefix of the text is accepted, and the whole text is a complete document. */
    private static void assertDocument(String schema, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        JsonPrefix state = start(schema);
        for (int i = 0; i < bytes.length; i++) {
            assertFalse(state.isFinished(), "finished before byte " + i + " of " + text);
            state = state.accept(bytes[i] & 0xff);
            assertNotNull(state, "byte " + i + " of " + text);
        }
        assertTrue(state.canEnd(), "complete: " + text);
    }

    private static void assertRejected(String schema, String text) {
        assertNull(read(schema, text), text);
    }

    @Test
    void documentsOfTheDetectionSchema() {
        for (String document : List.of("{\"label\":\"cat\",\"count\":3}",
                "{\"label\":\"dog\",\"count\":-12,\"boxes\":[]}",
                "{\"label\":\"cat\",\"count\":0,\"boxes\":[0.5,-1e3,2E+2,7]}",
                "{\n  \"label\" : \"dog\",\n\t\"count\": 10 ,\r\n  \"boxes\": [ 1 , 2 ]\n}")) {
            assertDocument(DETECTION, document);
            assertTrue(read(DETECTION, document).isFinished(), "nothing may follow an object: " + document);
        }
    }

    @Test
    void invalidDocumentsAreRejectedAtTheFirstWrongByte() {
        for (String wrong : List.of("[", "{\"label\":\"bird\"", "{\"label\":\"cat\",\"count\":1.5",
                "{\"label\":\"cat\",\"count\":01", "{\"label\":\"cat\",\"count\":+1",
                "{\"label\":\"cat\",\"count\":1e3",
                "{\"extra\":1", "{\"count\":1", "{\"label\":\"cat\"}", "{\"label\":\"cat\",}",
                "{\"label\":\"cat\",\"count\":1,\"boxes\":[1,2,3,4,", "{\"label\":\"cat\",\"count\":1,\"boxes\":[1,]",
                "{\"label\":\"cat\",\"count\":1,\"boxes\":[1.]", "{\"label\":\"cat\",\"count\":1,\"boxes\":[.5]",
                "{\"label\":\"cat\",\"count\":1} ", "{\"label\":\"cat\",\"count\":1}}", "{'label'",
                "{\"label\":\"cat\",\"count\":1,\"label\"")) {
            assertRejected(DETECTION, wrong);
        }
    }

    @Test
    void propertiesComeInTheListedOrderAndOptionalOnesMayBeSkipped() {
        String schema = """
                {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"},
                 "c": {"type": "integer"}}, "required": ["c"]}""";
        assertDocument(schema, "{\"a\":1,\"b\":2,\"c\":3}");
        assertDocument(schema, "{\"c\":3}");
        assertDocument(schema, "{\"b\":2,\"c\":3}");
        assertRejected(schema, "{\"b\":2,\"a\"");
        assertRejected(schema, "{\"c\":3,\"a\"");
        assertRejected(schema, "{\"c\":3,");
        assertRejected(schema, "{\"a\":1}");
        assertDocument("{\"type\": \"object\"}", "{ }");
    }

    @Test
    void completionIsDetected() {
        assertFalse(read(DETECTION, "{\"label\":\"cat\",\"count\":3").canEnd(), "the object is still open");
        JsonPrefix number = read("{\"type\": \"number\"}", "12");
        assertTrue(number.canEnd() && !number.isFinished(), "a top-level number may end or go on");
        assertNotNull(number.accept('3'));
        for (String unfinished : List.of("-", "1.", "1e", "1e+", "-0.")) {
            assertFalse(read("{\"type\": \"number\"}", unfinished).canEnd(), unfinished);
        }
        assertTrue(read("{\"type\": \"string\"}", "\"x\"").isFinished());
        assertTrue(read("{\"type\": \"boolean\"}", "false").isFinished());
        assertTrue(read("{\"type\": \"null\"}", " null").isFinished());
        assertRejected("{\"type\": \"boolean\"}", "truee");
    }

    @Test
    void numbersFollowJsonGrammar() {
        for (String number : List.of("0", "-0", "-0.5e3", "3.25", "1E-7", "1e+10", "120", "-9.0")) {
            assertDocument("{\"type\": \"number\"}", number);
        }
        for (String wrong : List.of("00", "-", "--1", "1..", "1ee", ".5", "+1", "1.e3", "0x1", "NaN", "Infinity")) {
            JsonPrefix state = read("{\"type\": \"number\"}", wrong);
            assertTrue(state == null || !state.canEnd(), wrong);
        }
        assertDocument("{\"type\": \"integer\"}", "-120");
        assertRejected("{\"type\": \"integer\"}", "1.0");
    }

    @Test
    void escapesAreThoseJsonHas() {
        assertDocument("{\"type\": \"string\"}", "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"");
        for (String wrong : List.of("\"\\x", "\"\\u00g", "\"\\U0041", "\"tab\there", "\"new\nline")) {
            assertRejected("{\"type\": \"string\"}", wrong);
        }
    }

    @Test
    void multiByteCharactersMayBeSplitAndMustBeValidUtf8() {
        JsonPrefix open = read("{\"type\": \"string\"}", "\"");
        byte[] text = "é日🙂\"".getBytes(StandardCharsets.UTF_8);
        JsonPrefix state = open;
        for (byte b : text) {
            // One byte at a time, as tokens that end inside a character deliver them.
            state = state.accept(b & 0xff);
            assertNotNull(state);
        }
        assertTrue(state.isFinished());

        JsonPrefix inside = open.accept(0xC3);
        assertNull(inside.accept('"'), "a character cannot end half-way");
        assertNull(inside.accept(0xC3), "a lead byte cannot follow a lead byte");
        assertNotNull(inside.accept(0xA9));
        assertNull(open.accept(0xA9), "a continuation byte cannot start a character");
        assertNull(open.accept(0xC0), "overlong form");
        assertNull(open.accept(0xE0).accept(0x80), "overlong three-byte form");
        assertNull(open.accept(0xED).accept(0xA0), "UTF-16 surrogate");
        assertNull(open.accept(0xF4).accept(0x90), "above U+10FFFF");
        assertNull(open.accept(0xF5), "not a UTF-8 byte");
    }

    @Test
    void maxLengthCountsCodePoints() {
        String schema = "{\"type\": \"string\", \"maxLength\": 3}";
        assertDocument(schema, "\"é🙂\\n\"");
        assertRejected(schema, "\"é🙂\\na");
        assertRejected(schema, "\"abcd");
        assertDocument("{\"type\": \"string\", \"maxLength\": 0}", "\"\"");
    }

    @Test
    void enumsMatchTheirValuesExactly() {
        String numbers = "{\"enum\": [1, 12, 1.5, \"1\"]}";
        for (String value : List.of("1", "12", "1.5", "\"1\"")) {
            assertDocument(numbers, value);
        }
        assertTrue(read(numbers, "1").canEnd() && !read(numbers, "1").isFinished(), "1 or 12");
        assertTrue(read(numbers, "12").isFinished());
        assertRejected(numbers, "13");
        assertRejected(numbers, "1.0");

        String inArray = "{\"type\": \"array\", \"items\": {\"enum\": [1, 12]}}";
        assertDocument(inArray, "[1,12, 1 ,12]");
        assertRejected(inArray, "[123");
        assertDocument("{\"enum\": [\"caf\\u00e9\", \"a\\\"b\"]}", "\"café\"");
        assertDocument("{\"enum\": [\"caf\\u00e9\", \"a\\\"b\"]}", "\"a\\\"b\"");
    }

    @Test
    void arraysKeepTheirItemCounts() {
        String schema = "{\"type\": \"array\", \"items\": {\"type\": \"boolean\"}, \"minItems\": 1, \"maxItems\": 2}";
        assertRejected(schema, "[]");
        assertDocument(schema, "[true]");
        assertDocument(schema, "[ true , false ]");
        assertRejected(schema, "[true,false,");
        String nested = "{\"type\": \"array\", \"items\": {\"type\": \"array\", \"items\": {\"type\": \"null\"}}}";
        assertDocument(nested, "[[],[null,null],[ ]]");
    }

    @Test
    void whitespaceRunsAreBounded() {
        String schema = "{\"type\": \"array\", \"items\": {\"type\": \"integer\"}}";
        String blanks = " ".repeat(JsonPrefix.MAX_BLANKS);
        assertDocument(schema, "[" + blanks + "1," + blanks + "2" + blanks + "]");
        assertRejected(schema, "[" + blanks + " 1");
        assertRejected(schema, blanks + " [");
    }
}
