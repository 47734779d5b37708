package dev.loupe.dataset.imports;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Oversized lines and elements are rejected while streaming, without holding them, and reading goes on. */
class StreamingLimitsTest {
    private static final int TEN_MB = 10 * 1024 * 1024;
    private static final String VALID_NATIVE = Fixtures.nativeLine("[]", "Hi");

    @Test
    void tenMegabyteLineIsRejectedWithoutHoldingIt() throws IOException {
        InputStream input = concat(Fixtures.bytes("{\"messages\":[{\"role\":\"user\",\"content\":\""),
                Fixtures.repeat((byte) 'a', TEN_MB), Fixtures.bytes("\"}]}\n" + VALID_NATIVE + "\n"));
        ImportLimits limits = ImportLimits.defaults();
        BoundedLineReader lines = new BoundedLineReader(input, limits.maxLineBytes());

        assertTrue(lines.next());
        assertTrue(lines.tooLong());
        assertTrue(lines.fullLength() > TEN_MB, "the whole line was read through");
        assertTrue(lines.capacity() <= limits.maxLineBytes(), "held at most the limit: " + lines.capacity());
        assertTrue(lines.next());
        assertEquals(2, lines.number());
        assertEquals(VALID_NATIVE, new String(lines.bytes(), lines.start(), lines.length(), StandardCharsets.UTF_8));
    }

    @Test
    void tenMegabyteLineIsReportedAndTheNextLineStillImports() {
        InputStream input = concat(Fixtures.bytes("{\"messages\":[{\"role\":\"user\",\"content\":\""),
                Fixtures.repeat((byte) 'a', TEN_MB), Fixtures.bytes("\"}]}\n" + VALID_NATIVE + "\n"));

        List<LineResult> results = Fixtures.read(ImportFormat.LOUPE, ImportLimits.defaults(), input);

        assertEquals(2, results.size());
        LineResult.Rejected rejected = assertInstanceOf(LineResult.Rejected.class, results.get(0));
        assertEquals(ImportErrorCode.LINE_TOO_LONG, rejected.errors().get(0).code());
        assertEquals("", rejected.errors().get(0).pointer());
        assertTrue(rejected.errors().get(0).message().contains(String.valueOf(ImportLimits.defaults().maxLineBytes())));
        assertInstanceOf(LineResult.Valid.class, results.get(1));
        assertEquals(2, results.get(1).line());
    }

    @Test
    void llavaElementOverTheLimitIsSkippedAndTheNextElementImports() {
        // Eleven strings of 1 MiB: each is within the string limit, together they exceed the 8 MiB element limit.
        List<InputStream> parts = new ArrayList<>();
        parts.add(Fixtures.bytes("[{\"id\":\"big\",\"conversations\":["));
        for (int i = 0; i < 11; i++) {
            parts.add(Fixtures.bytes((i == 0 ? "" : ",") + "{\"from\":\"" + (i % 2 == 0 ? "human" : "gpt")
                    + "\",\"value\":\""));
            parts.add(Fixtures.repeat((byte) 'b', 1024 * 1024));
            parts.add(Fixtures.bytes("\"}"));
        }
        parts.add(Fixtures.bytes("]},{\"id\":\"small\",\"conversations\":[{\"from\":\"human\",\"value\":\"Hi\"},"
                + "{\"from\":\"gpt\",\"value\":\"Hello\"}]}]"));
        InputStream input = new SequenceInputStream(Collections.enumeration(parts));

        List<LineResult> results = Fixtures.read(ImportFormat.LLAVA, ImportLimits.defaults(), input);

        assertEquals(2, results.size(), results::toString);
        LineResult.Rejected rejected = assertInstanceOf(LineResult.Rejected.class, results.get(0));
        assertEquals(ImportErrorCode.LINE_TOO_LONG, rejected.errors().get(0).code());
        LineResult.Valid valid = assertInstanceOf(LineResult.Valid.class, results.get(1));
        assertEquals("small", valid.record().clientId().orElseThrow());
    }

    @Test
    void llavaStringOverTheLimitEndsTheFile() {
        InputStream input = concat(
                Fixtures.bytes("[{\"id\":\"big\",\"conversations\":[{\"from\":\"human\",\"value\":\""),
                Fixtures.repeat((byte) 'c', TEN_MB), Fixtures.bytes("\"}]}]"));

        List<LineResult> results = Fixtures.read(ImportFormat.LLAVA, ImportLimits.defaults(), input);

        assertEquals(1, results.size());
        LineResult.Rejected rejected = assertInstanceOf(LineResult.Rejected.class, results.get(0));
        assertTrue(rejected.fatal());
        assertEquals(1, rejected.line());
        assertEquals(ImportErrorCode.LINE_TOO_LONG, rejected.errors().get(0).code());
    }

    @Test
    void theCallersStreamIsNotClosed() throws IOException {
        for (ImportFormat format : ImportFormat.values()) {
            boolean[] closed = {false};
            String content = format == ImportFormat.LLAVA ? "[]" : VALID_NATIVE;
            InputStream input = new ByteArrayInputStream(content.getBytes(StandardCharsets.UTF_8)) {
                @Override
                public void close() {
                    closed[0] = true;
                }
            };
            format.importer(ImportLimits.defaults()).read(input, result -> {
            });
            assertEquals(false, closed[0], format + " closed the stream");
        }
    }

    private static InputStream concat(InputStream... parts) {
        return new SequenceInputStream(Collections.enumeration(List.of(parts)));
    }
}
