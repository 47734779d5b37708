package dev.loupe.dataset.imports;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BoundedLineReaderTest {

    @Test
    void splitsAtLineFeedsDroppingCarriageReturnsAndTheByteOrderMark() throws IOException {
        byte[] bom = {(byte) 0xef, (byte) 0xbb, (byte) 0xbf};
        byte[] rest = "first\r\n\r\n  \nlast".getBytes(StandardCharsets.UTF_8);
        byte[] input = new byte[bom.length + rest.length];
        System.arraycopy(bom, 0, input, 0, 3);
        System.arraycopy(rest, 0, input, 3, rest.length);
        BoundedLineReader reader = new BoundedLineReader(new ByteArrayInputStream(input), 1024);

        List<String> lines = new ArrayList<>();
        List<Boolean> blank = new ArrayList<>();
        while (reader.next()) {
            lines.add(new String(reader.bytes(), reader.start(), reader.length(), StandardCharsets.UTF_8));
            blank.add(reader.blank());
        }

        assertEquals(List.of("first", "", "  ", "last"), lines);
        assertEquals(List.of(false, true, true, false), blank);
        assertEquals(4, reader.number());
    }

    @Test
    void aTrailingLineFeedMakesNoExtraLine() throws IOException {
        BoundedLineReader reader = new BoundedLineReader(Fixtures.bytes("a\nb\n"), 1024);
        int count = 0;
        while (reader.next()) {
            count++;
        }
        assertEquals(2, count);
    }

    @Test
    void aLineOverTheLimitIsMarkedAndTheNextOneIsIntact() throws IOException {
        String longLine = "x".repeat(5000);
        BoundedLineReader reader = new BoundedLineReader(Fixtures.bytes(longLine + "\nshort"), 1024);

        assertTrue(reader.next());
        assertTrue(reader.tooLong());
        assertFalse(reader.blank());
        assertEquals(5000, reader.fullLength());
        assertTrue(reader.capacity() <= 1024);
        assertTrue(reader.next());
        assertFalse(reader.tooLong());
        assertEquals("short", new String(reader.bytes(), reader.start(), reader.length(), StandardCharsets.UTF_8));
    }

    @Test
    void aLineOfExactlyTheLimitIsAccepted() throws IOException {
        BoundedLineReader reader = new BoundedLineReader(Fixtures.bytes("y".repeat(1024) + "\n"), 1024);
        assertTrue(reader.next());
        assertFalse(reader.tooLong());
        assertEquals(1024, reader.length());
    }
}
