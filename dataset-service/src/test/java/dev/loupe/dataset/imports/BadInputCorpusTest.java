package dev.loupe.dataset.imports;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static dev.loupe.dataset.imports.Fixtures.json;
import static dev.loupe.dataset.imports.Fixtures.nativeLine;
import static dev.loupe.dataset.imports.Fixtures.openAiLine;
import static dev.loupe.dataset.imports.ImportErrorCode.*;
import static dev.loupe.dataset.imports.ImportFormat.LLAVA;
import static dev.loupe.dataset.imports.ImportFormat.LOUPE;
import static dev.loupe.dataset.imports.ImportFormat.OPENAI;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * One bad input per case, each with the line, error code and JSON pointer it must be rejected with. A case passes
 * only if that exact error is reported and its line yields no record.
 */
class BadInputCorpusTest {
    private static final String ANSWER = "{\"role\":\"assistant\",\"content\":\"A cat.\"}";
    private static final String USER = "{\"role\":\"user\",\"content\":\"What is this?\"}";
    private static final String VALID_LLAVA = "{\"id\":\"ok\",\"image\":\"a.png\",\"conversations\":["
            + "{\"from\":\"human\",\"value\":\"<image>\\nWhat?\"},{\"from\":\"gpt\",\"value\":\"A cat.\"}]}";

    record Case(String name, ImportFormat format, ImportLimits limits, byte[] input, long line,
            ImportErrorCode code, String pointer, boolean fatal) {
        @Override
        public String toString() {
            return name + " -> " + code + " at line " + line + " " + (pointer.isEmpty() ? "(whole line)" : pointer);
        }
    }

    static Stream<Case> corpus() {
        List<Case> cases = new ArrayList<>();
        ImportLimits defaults = ImportLimits.defaults();

        // JSON syntax and encoding
        add(cases, "truncated JSON", LOUPE, "{\"messages\": [", 1, INVALID_JSON, "");
        add(cases, "invalid JSON on line 2", LOUPE, nativeLine("[]", "Hi") + "\n{messages: []}", 2, INVALID_JSON, "");
        add(cases, "two values on one line", LOUPE, nativeLine("[]", "Hi") + " {}", 1, INVALID_JSON, "");
        add(cases, "duplicate key", LOUPE, "{\"id\":\"a\",\"id\":\"b\",\"messages\":[" + USER + "," + ANSWER + "]}", 1,
                INVALID_JSON, "");
        add(cases, "nesting deeper than the limit", LOUPE,
                "{\"expected_output\":" + "[".repeat(100) + "]".repeat(100) + ",\"messages\":[" + USER + "," + ANSWER
                        + "]}",
                1, INVALID_JSON, "");
        cases.add(new Case("Latin-1 byte in a string", LOUPE, defaults,
                concat(("{\"messages\":[{\"role\":\"user\",\"content\":\"caf").getBytes(StandardCharsets.UTF_8),
                        new byte[]{(byte) 0xe9},
                        ("\"}," + ANSWER + "]}").getBytes(StandardCharsets.UTF_8)),
                1, INVALID_UTF8, "", false));
        cases.add(new Case("encoded surrogate (CESU-8)", OPENAI, defaults,
                concat("{\"messages\":[{\"role\":\"user\",\"content\":\"".getBytes(StandardCharsets.UTF_8),
                        new byte[]{(byte) 0xed, (byte) 0xa0, (byte) 0x80},
                        ("\"}," + ANSWER + "]}").getBytes(StandardCharsets.UTF_8)),
                1, INVALID_UTF8, "", false));
        cases.add(new Case("NUL byte (UTF-16 guess)", LOUPE, defaults,
                new byte[]{'{', 0, '"', 0, 'a', 0, '"', 0, ':', 0, '1', 0, '}', 0}, 1, INVALID_JSON, "", false));

        // Schema
        add(cases, "not an object", LOUPE, "[1, 2]", 1, WRONG_TYPE, "");
        add(cases, "unknown field", LOUPE, "{\"foo\":1,\"messages\":[" + USER + "," + ANSWER + "]}", 1, UNKNOWN_FIELD,
                "/foo");
        add(cases, "unknown field in a message", LOUPE,
                "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\",\"name\":\"bob\"}," + ANSWER + "]}", 1,
                UNKNOWN_FIELD, "/messages/0/name");
        add(cases, "pointer escapes / and ~", LOUPE, "{\"a/b~c\":1,\"messages\":[" + USER + "," + ANSWER + "]}", 1,
                UNKNOWN_FIELD, "/a~1b~0c");
        add(cases, "OpenAI tools", OPENAI, "{\"tools\":[],\"messages\":[" + USER + "," + ANSWER + "]}", 1,
                UNKNOWN_FIELD, "/tools");
        add(cases, "LLaVA unknown field", LLAVA, "[{\"foo\":1," + VALID_LLAVA.substring(1) + "]", 1, UNKNOWN_FIELD,
                "/foo");
        add(cases, "messages missing", LOUPE, "{\"id\":\"a\"}", 1, MISSING_FIELD, "/messages");
        add(cases, "content missing", LOUPE, "{\"messages\":[{\"role\":\"user\"}," + ANSWER + "]}", 1, MISSING_FIELD,
                "/messages/0/content");
        add(cases, "messages not an array", LOUPE, "{\"messages\":\"hi\"}", 1, WRONG_TYPE, "/messages");
        add(cases, "image reference not a string", LOUPE, nativeLine("[42]", "<image>"), 1, WRONG_TYPE, "/images/0");
        add(cases, "id a number (native)", LOUPE, "{\"id\":7,\"messages\":[" + USER + "," + ANSWER + "]}", 1,
                WRONG_TYPE, "/id");
        add(cases, "empty id", LOUPE, "{\"id\":\"\",\"messages\":[" + USER + "," + ANSWER + "]}", 1, INVALID_VALUE,
                "/id");
        add(cases, "weight 2", OPENAI, "{\"messages\":[" + USER
                + ",{\"role\":\"assistant\",\"content\":\"A cat.\",\"weight\":2}]}", 1, INVALID_VALUE,
                "/messages/1/weight");
        add(cases, "weight on a user turn", OPENAI,
                "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\",\"weight\":1},"
                        + ANSWER + "]}",
                1, INVALID_VALUE, "/messages/0/weight");
        add(cases, "unknown part type", OPENAI,
                "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\"}]},"
                        + ANSWER + "]}",
                1, INVALID_VALUE, "/messages/0/content/0/type");

        // Roles and turns
        add(cases, "assistant first", LOUPE, "{\"messages\":[" + ANSWER + "," + USER + "]}", 1, ROLE_ORDER,
                "/messages/0/role");
        add(cases, "ends with user", LOUPE, "{\"messages\":[" + USER + "," + ANSWER + "," + USER + "]}", 1, ROLE_ORDER,
                "/messages/2/role");
        add(cases, "two user turns", OPENAI, "{\"messages\":[" + USER + "," + USER + "," + ANSWER + "]}", 1,
                ROLE_ORDER, "/messages/1/role");
        add(cases, "system in the middle", LOUPE, "{\"messages\":[" + USER + ","
                + "{\"role\":\"system\",\"content\":\"Be brief.\"}," + ANSWER + "]}", 1, ROLE_ORDER,
                "/messages/1/role");
        add(cases, "no turns", LOUPE, "{\"messages\":[]}", 1, ROLE_ORDER, "/messages");
        add(cases, "LLaVA gpt first", LLAVA, "[{\"conversations\":[{\"from\":\"gpt\",\"value\":\"Hi\"},"
                + "{\"from\":\"human\",\"value\":\"Hi\"}]}]", 1, ROLE_ORDER, "/conversations/0/from");
        add(cases, "unknown role", LOUPE, "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}," + ANSWER + "]}", 1,
                INVALID_ROLE, "/messages/0/role");
        add(cases, "LLaVA unknown from", LLAVA, "[{\"conversations\":[{\"from\":\"bot\",\"value\":\"Hi\"},"
                + "{\"from\":\"gpt\",\"value\":\"Hi\"}]}]", 1, INVALID_ROLE, "/conversations/0/from");
        add(cases, "empty assistant answer", LOUPE, "{\"messages\":[" + USER
                + ",{\"role\":\"assistant\",\"content\":\"  \"}]}", 1, EMPTY_CONTENT, "/messages/1/content");
        add(cases, "chat template token in text", LOUPE, "{\"messages\":[{\"role\":\"user\",\"content\":"
                + "\"Hi<|im_end|>\"}," + ANSWER + "]}", 1, RESERVED_TOKEN, "/messages/0/content");
        add(cases, "placeholder spelled in an OpenAI text part", OPENAI, "{\"messages\":[{\"role\":\"user\","
                + "\"content\":[{\"type\":\"text\",\"text\":\"see <image>\"}]}," + ANSWER + "]}", 1, RESERVED_TOKEN,
                "/messages/0/content/0/text");

        // Images
        add(cases, "image in an assistant turn (native)", LOUPE, "{\"images\":[\"a.png\"],\"messages\":[" + USER
                + ",{\"role\":\"assistant\",\"content\":\"<image> this\"}]}", 1, IMAGE_IN_ASSISTANT_TURN,
                "/messages/1/content");
        add(cases, "image in an assistant turn (OpenAI)", OPENAI, "{\"messages\":[" + USER
                + ",{\"role\":\"assistant\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":"
                + json(Fixtures.PNG_DATA_URL) + "}}]}]}", 1, IMAGE_IN_ASSISTANT_TURN, "/messages/1/content/0");
        add(cases, "image in a system turn", LOUPE, "{\"images\":[\"a.png\"],\"messages\":["
                + "{\"role\":\"system\",\"content\":\"<image>\"}," + USER + "," + ANSWER + "]}", 1,
                IMAGE_IN_SYSTEM_TURN, "/messages/0/content");
        add(cases, "11 images (native)", LOUPE, nativeLine(images(11), "<image>".repeat(11) + " Compare."), 1,
                TOO_MANY_IMAGES, "/images/10");
        add(cases, "11 images (OpenAI)", OPENAI, "{\"messages\":[{\"role\":\"user\",\"content\":["
                + String.join(",", java.util.Collections.nCopies(11,
                        "{\"type\":\"image_url\",\"image_url\":{\"url\":" + json(Fixtures.PNG_DATA_URL) + "}}"))
                + "]}," + ANSWER + "]}", 1, TOO_MANY_IMAGES, "/messages/0/content/10");
        add(cases, "3 images over a limit of 2", LOUPE, ImportLimits.builder().optMaxImagesPerRecord(2).build(),
                nativeLine(images(3), "<image><image><image>"), 1, TOO_MANY_IMAGES, "/images/2");
        add(cases, "fewer placeholders than images", LOUPE, nativeLine(images(2), "<image> and?"), 1,
                PLACEHOLDER_COUNT_MISMATCH, "/images");
        add(cases, "placeholder without images", LOUPE, "{\"messages\":[{\"role\":\"user\",\"content\":\"<image>\"},"
                + ANSWER + "]}", 1, PLACEHOLDER_COUNT_MISMATCH, "");
        add(cases, "LLaVA image without placeholder", LLAVA, "[{\"image\":\"a.png\",\"conversations\":["
                + "{\"from\":\"human\",\"value\":\"What?\"},{\"from\":\"gpt\",\"value\":\"A cat.\"}]}]", 1,
                PLACEHOLDER_COUNT_MISMATCH, "/image");

        // Image references
        add(cases, "path traversal", LOUPE, nativeLine("[\"../../etc/passwd\"]", "<image>"), 1, PATH_TRAVERSAL,
                "/images/0");
        add(cases, "path traversal inside", LLAVA, "[" + VALID_LLAVA.replace("a.png", "img/../../x.png") + "]", 1,
                PATH_TRAVERSAL, "/image");
        add(cases, "absolute path", LOUPE, nativeLine("[\"/etc/passwd\"]", "<image>"), 1, ABSOLUTE_PATH, "/images/0");
        add(cases, "drive letter", LOUPE, nativeLine("[" + json("C:\\images\\a.png") + "]", "<image>"), 1,
                ABSOLUTE_PATH, "/images/0");
        add(cases, "UNC path", LOUPE, nativeLine("[" + json("\\\\server\\share\\a.png") + "]", "<image>"), 1,
                ABSOLUTE_PATH, "/images/0");
        add(cases, "backslash", LOUPE, nativeLine("[" + json("images\\a.png") + "]", "<image>"), 1, INVALID_PATH,
                "/images/0");
        add(cases, "NUL in a path", LOUPE, nativeLine("[\"a.png\\u0000.jpg\"]", "<image>"), 1, INVALID_PATH,
                "/images/0");
        add(cases, "empty path segment", LOUPE, nativeLine("[\"images//a.png\"]", "<image>"), 1, INVALID_PATH,
                "/images/0");
        String url = "/messages/0/content/0/image_url/url";
        add(cases, "127.0.0.1", OPENAI, openAiLine("https://127.0.0.1/a.png"), 1, PRIVATE_ADDRESS, url);
        add(cases, "[::1]", OPENAI, openAiLine("https://[::1]/a.png"), 1, PRIVATE_ADDRESS, url);
        add(cases, "10.0.0.1", OPENAI, openAiLine("https://10.0.0.1:8443/a.png"), 1, PRIVATE_ADDRESS, url);
        add(cases, "localhost", OPENAI, openAiLine("https://localhost/a.png"), 1, PRIVATE_ADDRESS, url);
        add(cases, "LOCALHOST.", OPENAI, openAiLine("https://LOCALHOST./a.png"), 1, PRIVATE_ADDRESS, url);
        add(cases, "metadata service", OPENAI, openAiLine("https://169.254.169.254/latest"), 1, PRIVATE_ADDRESS, url);
        add(cases, "192.168.1.20", LOUPE, nativeLine("[\"https://192.168.1.20/a.png\"]", "<image>"), 1,
                PRIVATE_ADDRESS, "/images/0");
        add(cases, "0.0.0.0", OPENAI, openAiLine("https://0.0.0.0/a.png"), 1, PRIVATE_ADDRESS, url);
        add(cases, "[::]", OPENAI, openAiLine("https://[::]/a.png"), 1, PRIVATE_ADDRESS, url);
        add(cases, "IPv4-mapped loopback", OPENAI, openAiLine("https://[::ffff:127.0.0.1]/a.png"), 1,
                PRIVATE_ADDRESS, url);
        add(cases, "IPv6 link-local", OPENAI, openAiLine("https://[fe80::1]/a.png"), 1, PRIVATE_ADDRESS, url);
        add(cases, "IPv6 unique local", OPENAI, openAiLine("https://[fd12:3456::1]/a.png"), 1, PRIVATE_ADDRESS, url);
        add(cases, "NAT64 of 10.0.0.1", OPENAI, openAiLine("https://[64:ff9b::a00:1]/a.png"), 1, PRIVATE_ADDRESS, url);
        add(cases, "short IPv4 form", OPENAI, openAiLine("https://127.1/a.png"), 1, INVALID_URL, url);
        add(cases, "hex IPv4 form", OPENAI, openAiLine("https://0x7f.0.0.1/a.png"), 1, INVALID_URL, url);
        add(cases, "credentials in URL", OPENAI, openAiLine("https://user:secret@example.com/a.png"), 1, INVALID_URL,
                url);
        add(cases, "http://", OPENAI, openAiLine("http://example.com/a.png"), 1, REMOTE_URL_NOT_ALLOWED, url);
        add(cases, "file://", LOUPE, nativeLine("[\"file:///etc/passwd\"]", "<image>"), 1, REMOTE_URL_NOT_ALLOWED,
                "/images/0");
        add(cases, "GIF data URL", OPENAI, openAiLine("data:image/gif;base64,R0lGODlhAQABAAAAACw="), 1,
                UNSUPPORTED_MEDIA_TYPE, url);
        add(cases, "SVG data URL", LOUPE, nativeLine("[\"data:image/svg+xml;base64,PHN2Zz4=\"]", "<image>"), 1,
                UNSUPPORTED_MEDIA_TYPE, "/images/0");
        add(cases, "bad base64", OPENAI, openAiLine("data:image/png;base64,!!!!"), 1, INVALID_DATA_URL, url);
        add(cases, "not base64", OPENAI, openAiLine("data:image/png,rawbytes"), 1, INVALID_DATA_URL, url);
        add(cases, "inline image over the limit", OPENAI, ImportLimits.builder().optMaxImageBytes(1000).build(),
                openAiLine("data:image/png;base64," + Base64.getEncoder().encodeToString(new byte[1001])), 1,
                IMAGE_TOO_LARGE, url);

        // Annotations
        add(cases, "box coordinate over 1", LOUPE,
                annotated("{\"boxes\":[{\"label\":\"cat\",\"box\":[0.1,0.1,1.2,0.5]}]}"),
                1, BOX_OUT_OF_RANGE, "/annotations/boxes/0/box/2");
        add(cases, "negative box coordinate", LOUPE, annotated(
                "{\"boxes\":[{\"label\":\"cat\",\"box\":[-0.1,0.1,0.2,0.5]}]}"), 1, BOX_OUT_OF_RANGE,
                "/annotations/boxes/0/box/0");
        add(cases, "box as x,y,w,h", LOUPE, annotated("{\"boxes\":[{\"label\":\"cat\",\"box\":[0.5,0.5,0.2,0.2]}]}"),
                1, BOX_OUT_OF_RANGE, "/annotations/boxes/0/box");
        add(cases, "box with 3 numbers", LOUPE, annotated("{\"boxes\":[{\"label\":\"cat\",\"box\":[0.1,0.1,0.2]}]}"),
                1, WRONG_TYPE, "/annotations/boxes/0/box");
        add(cases, "box on a missing image", LOUPE, annotated(
                "{\"boxes\":[{\"label\":\"cat\",\"image\":1,\"box\":[0.1,0.1,0.2,0.2]}]}"), 1, INVALID_REFERENCE,
                "/annotations/boxes/0/image");
        add(cases, "grounded QA on a missing box", LOUPE, annotated(
                "{\"boxes\":[{\"label\":\"cat\",\"box\":[0.1,0.1,0.2,0.2]}],"
                        + "\"grounded_qa\":[{\"question\":\"What?\",\"answer\":\"A cat.\",\"box\":3}]}"),
                1, INVALID_REFERENCE, "/annotations/grounded_qa/0/box");
        add(cases, "unknown annotation", LOUPE, annotated("{\"masks\":[]}"), 1, UNKNOWN_FIELD, "/annotations/masks");

        // Across lines and size
        add(cases, "duplicate ids", LOUPE, "{\"id\":\"r1\",\"messages\":[" + USER + "," + ANSWER + "]}\n"
                + "{\"id\":\"r1\",\"messages\":[" + USER + "," + ANSWER + "]}", 2, DUPLICATE_ID, "/id");
        add(cases, "LLaVA duplicate ids", LLAVA, "[" + VALID_LLAVA + "," + VALID_LLAVA + "]", 2, DUPLICATE_ID, "/id");
        add(cases, "sequence too long", LOUPE, "{\"messages\":[{\"role\":\"user\",\"content\":\""
                + "a".repeat(20_000) + "\"}," + ANSWER + "]}", 1, SEQUENCE_TOO_LONG, "/messages");
        add(cases, "images make the sequence too long", LOUPE,
                ImportLimits.builder().optMaxSequenceTokens(1000).build(), nativeLine(images(2), "<image><image>"), 1,
                SEQUENCE_TOO_LONG, "/messages");
        add(cases, "more records than allowed", LOUPE, ImportLimits.builder().optMaxRecords(1).build(),
                nativeLine("[]", "Hi") + "\n" + nativeLine("[]", "Hi"), 2, TOO_MANY_RECORDS, "");
        add(cases, "line over a 1 KiB limit", LOUPE, ImportLimits.builder().optMaxLineBytes(1024).build(),
                nativeLine("[]", "x".repeat(2000)), 1, LINE_TOO_LONG, "");
        add(cases, "LLaVA element over a 1 KiB limit", LLAVA, ImportLimits.builder().optMaxLineBytes(1024).build(),
                "[" + VALID_LLAVA.replace("What?", "x".repeat(900) + "\", \"y\": \"" + "x".repeat(900)) + ","
                        + VALID_LLAVA.replace("ok", "ok2") + "]",
                1, LINE_TOO_LONG, "");

        // LLaVA file-level failures: the rest of the array cannot be read
        addFatal(cases, "LLaVA not an array", LLAVA, VALID_LLAVA, 0, WRONG_TYPE);
        addFatal(cases, "LLaVA empty file", LLAVA, "", 0, INVALID_JSON);
        addFatal(cases, "LLaVA syntax error in element 2", LLAVA,
                "[" + VALID_LLAVA + ",{\"id\": \"x\" \"image\": 1}]", 2, INVALID_JSON);
        addFatal(cases, "LLaVA truncated", LLAVA, "[" + VALID_LLAVA + ",", 2, INVALID_JSON);
        addFatal(cases, "LLaVA trailing content", LLAVA, "[" + VALID_LLAVA + "] []", 0, INVALID_JSON);
        cases.add(new Case("LLaVA invalid UTF-8 in element 2", LLAVA, defaults,
                concat(("[" + VALID_LLAVA + ",").getBytes(StandardCharsets.UTF_8),
                        VALID_LLAVA.replace("ok", "caf#").getBytes(StandardCharsets.UTF_8), "]".getBytes()),
                2, INVALID_UTF8, "", true));
        cases.add(new Case("LLaVA file in UTF-16", LLAVA, defaults,
                ("[" + VALID_LLAVA + "]").getBytes(StandardCharsets.UTF_16LE), 0, INVALID_UTF8, "", true));
        return cases.stream().map(c -> c.name().equals("LLaVA invalid UTF-8 in element 2") ? withLatin1(c) : c);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void rejectsWithCodeAndPointer(Case c) {
        List<LineResult> results = Fixtures.read(c.format(), c.limits(), c.input());
        LineResult.Rejected rejected = results.stream()
                .filter(r -> r.line() == c.line() && r instanceof LineResult.Rejected)
                .map(LineResult.Rejected.class::cast).findFirst()
                .orElseGet(() -> fail("line " + c.line() + " not rejected; results: " + results));
        assertTrue(rejected.errors().stream().anyMatch(e -> e.code() == c.code() && e.pointer().equals(c.pointer())),
                () -> "expected " + c.code() + " at '" + c.pointer() + "', got " + rejected.errors());
        assertTrue(rejected.codes().contains(c.code()));
        assertEquals(c.fatal(), rejected.fatal(), "fatal");
        for (ImportError error : rejected.errors()) {
            assertEquals(c.line(), error.line());
            assertFalse(error.message().isBlank());
            assertTrue(error.message().length() < 400, () -> "message too long: " + error.message());
        }
        assertTrue(results.stream().noneMatch(r -> r.line() == c.line() && r instanceof LineResult.Valid),
                "the line must not also yield a record");
        if (c.fatal()) {
            assertEquals(rejected, results.get(results.size() - 1), "nothing follows a fatal result");
        }
    }

    private static Case withLatin1(Case c) {
        // '#' stands in for a raw 0xE9 (é in Latin-1), which a Java string literal cannot hold as a byte.
        byte[] input = c.input().clone();
        for (int i = 0; i < input.length; i++) {
            if (input[i] == '#') {
                input[i] = (byte) 0xe9;
            }
        }
        return new Case(c.name(), c.format(), c.limits(), input, c.line(), c.code(), c.pointer(), c.fatal());
    }

    private static void add(List<Case> cases, String name, ImportFormat format, String input, long line,
            ImportErrorCode code, String pointer) {
        add(cases, name, format, ImportLimits.defaults(), input, line, code, pointer);
    }

    private static void add(List<Case> cases, String name, ImportFormat format, ImportLimits limits, String input,
            long line, ImportErrorCode code, String pointer) {
        cases.add(new Case(name, format, limits, input.getBytes(StandardCharsets.UTF_8), line, code, pointer, false));
    }

    private static void addFatal(List<Case> cases, String name, ImportFormat format, String input, long line,
            ImportErrorCode code) {
        cases.add(new Case(name, format, ImportLimits.defaults(), input.getBytes(StandardCharsets.UTF_8), line, code,
                "", true));
    }

    private static String images(int count) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            names.add("\"img/" + i + ".png\"");
        }
        return "[" + String.join(",", names) + "]";
    }

    private static String annotated(String annotations) {
        return "{\"images\":[\"a.png\"],\"messages\":[{\"role\":\"user\",\"content\":\"<image>Where is the cat?\"},"
                + ANSWER + "],\"annotations\":" + annotations + "}";
    }

    private static byte[] concat(byte[]... parts) {
        int length = 0;
        for (byte[] part : parts) {
            length += part.length;
        }
        byte[] out = new byte[length];
        int at = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, out, at, part.length);
            at += part.length;
        }
        return out;
    }
}
