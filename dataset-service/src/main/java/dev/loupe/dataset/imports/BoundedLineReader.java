package dev.loupe.dataset.imports;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Splits a byte stream into lines at line feeds, holding at most {@code maxLineBytes} of one line: the rest of a
 * longer line is read and dropped, and the line is marked {@link #tooLong()}. A carriage return before the line feed
 * and a UTF-8 byte order mark at the start of the stream are dropped. The line's bytes are valid until the next call
 * of {@link #next()}.
 */
final class BoundedLineReader {
    private static final int READ_BUFFER = 64 * 1024;
    private static final int FIRST_LINE_CAPACITY = 8 * 1024;

    private final InputStream in;
    private final int maxLineBytes;
    private final byte[] buffer = new byte[READ_BUFFER];
    private int position;
    private int limit;
    private boolean eof;

    private byte[] line;
    private int start;
    private int length;
    private long fullLength;
    private boolean tooLong;
    private long number;

    BoundedLineReader(InputStream in, int maxLineBytes) {
        this.in = in;
        this.maxLineBytes = maxLineBytes;
        this.line = new byte[Math.min(FIRST_LINE_CAPACITY, maxLineBytes)];
    }

    /** Reads the next line; false at the end of the stream. */
    boolean next() throws IOException {
        start = 0;
        length = 0;
        fullLength = 0;
        tooLong = false;
        boolean any = false;
        while (true) {
            if (position == limit) {
                if (eof || !fill()) {
                    if (!any) {
                        return false;
                    }
                    break;
                }
            }
            any = true;
            int newline = indexOf(buffer, position, limit, (byte) '\n');
            int end = newline < 0 ? limit : newline;
            append(buffer, position, end - position);
            position = newline < 0 ? limit : newline + 1;
            if (newline >= 0) {
                break;
            }
        }
        number++;
        if (!tooLong && length > 0 && line[length - 1] == '\r') {
            length--;
        }
        if (number == 1 && !tooLong && length >= 3 && (line[0] & 0xff) == 0xef && (line[1] & 0xff) == 0xbb
                && (line[2] & 0xff) == 0xbf) {
            start = 3;
            length -= 3;
        }
        return true;
    }

    /** 1-based number of the current line. */
    long number() {
        return number;
    }

    /** The array holding the current line from {@link #start()} for {@link #length()} bytes; empty if too long. */
    byte[] bytes() {
        return line;
    }

    int start() {
        return start;
    }

    int length() {
        return length;
    }

    /** Bytes of the current line as it was in the stream, counted even when they were dropped. */
    long fullLength() {
        return fullLength;
    }

    boolean tooLong() {
        return tooLong;
    }

    /** Only spaces, tabs and carriage returns (or nothing). */
    boolean blank() {
        if (tooLong) {
            return false;
        }
        for (int i = start; i < start + length; i++) {
            byte b = line[i];
            if (b != ' ' && b != '\t' && b != '\r') {
                return false;
            }
        }
        return true;
    }

    /** Bytes held for lines now; never more than the line limit. */
    int capacity() {
        return line.length;
    }

    private void append(byte[] source, int from, int count) {
        fullLength += count;
        if (tooLong) {
            return;
        }
        if ((long) length + count > maxLineBytes) {
            tooLong = true;
            length = 0;
            return;
        }
        if (length + count > line.length) {
            int grown = (int) Math.min(Math.max((long) line.length * 2, length + count), maxLineBytes);
            line = Arrays.copyOf(line, grown);
        }
        System.arraycopy(source, from, line, length, count);
        length += count;
    }

    private boolean fill() throws IOException {
        int read = in.read(buffer, 0, buffer.length);
        while (read == 0) {
            read = in.read(buffer, 0, buffer.length);
        }
        if (read < 0) {
            eof = true;
            return false;
        }
        position = 0;
        limit = read;
        return true;
    }

    private static int indexOf(byte[] bytes, int from, int to, byte value) {
        for (int i = from; i < to; i++) {
            if (bytes[i] == value) {
                return i;
            }
        }
        return -1;
    }
}
