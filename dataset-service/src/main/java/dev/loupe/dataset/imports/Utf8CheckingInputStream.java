package dev.loupe.dataset.imports;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Passes bytes through unchanged while checking that they are UTF-8, remembering where the first malformed
 * sequence starts. It does not throw: the reader ahead of it buffers, so the caller compares that offset with the
 * parser's position to tell which element holds it.
 */
final class Utf8CheckingInputStream extends FilterInputStream {
    private final Utf8Validator validator = new Utf8Validator();
    private boolean ended;

    Utf8CheckingInputStream(InputStream in) {
        super(in);
    }

    /** Stream offset of the first malformed sequence read so far, or -1. */
    long firstInvalid() {
        return validator.firstInvalid();
    }

    @Override
    public int read() throws IOException {
        int b = super.read();
        if (b < 0) {
            end();
        } else {
            validator.update((byte) b);
        }
        return b;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
        int n = super.read(buffer, offset, length);
        if (n < 0) {
            end();
        } else {
            validator.update(buffer, offset, n);
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        // Skipped bytes must be checked too.
        byte[] scratch = new byte[(int) Math.min(n, 8192)];
        long skipped = 0;
        while (skipped < n) {
            int read = read(scratch, 0, (int) Math.min(scratch.length, n - skipped));
            if (read < 0) {
                break;
            }
            skipped += read;
        }
        return skipped;
    }

    @Override
    public boolean markSupported() {
        return false;
    }

    private void end() {
        if (!ended) {
            ended = true;
            validator.end();
        }
    }
}
