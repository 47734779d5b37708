package dev.loupe.dataset.imports;

/**
 * Checks bytes for well-formed UTF-8 (RFC 3629) as they stream past: no overlong forms, no surrogates, nothing above
 * U+10FFFF, no truncated sequence. It only looks; it never replaces anything.
 */
final class Utf8Validator {
    private int needed;
    private int lower = 0x80;
    private int upper = 0xbf;
    private long sequenceStart;
    private long offset;
    private long firstInvalid = -1;

    /** Offset (from the first byte fed) of the first byte of the first malformed sequence, or -1. */
    long firstInvalid() {
        return firstInvalid;
    }

    void update(byte[] bytes, int from, int length) {
        for (int i = from; i < from + length; i++) {
            update(bytes[i]);
        }
    }

    void update(byte value) {
        int b = value & 0xff;
        long at = offset++;
        if (firstInvalid >= 0) {
            return;
        }
        if (needed == 0) {
            if (b < 0x80) {
                return;
            }
            sequenceStart = at;
            if (b >= 0xc2 && b <= 0xdf) {
                start(1, 0x80, 0xbf);
            } else if (b == 0xe0) {
                start(2, 0xa0, 0xbf);
            } else if (b == 0xed) {
                start(2, 0x80, 0x9f);
            } else if (b >= 0xe1 && b <= 0xef) {
                start(2, 0x80, 0xbf);
            } else if (b == 0xf0) {
                start(3, 0x90, 0xbf);
            } else if (b >= 0xf1 && b <= 0xf3) {
                start(3, 0x80, 0xbf);
            } else if (b == 0xf4) {
                start(3, 0x80, 0x8f);
            } else {
                firstInvalid = at;
            }
        } else if (b < lower || b > upper) {
            firstInvalid = sequenceStart;
        } else {
            needed--;
            lower = 0x80;
            upper = 0xbf;
        }
    }

    /** The input ended: a sequence still open is truncated. */
    void end() {
        if (needed > 0 && firstInvalid < 0) {
            firstInvalid = sequenceStart;
        }
    }

    /** Index of the first malformed sequence of a complete piece of text, or -1 if it is valid UTF-8. */
    static int firstInvalid(byte[] bytes, int from, int length) {
        Utf8Validator validator = new Utf8Validator();
        validator.update(bytes, from, length);
        validator.end();
        return (int) validator.firstInvalid();
    }

    private void start(int needed, int lower, int upper) {
        this.needed = needed;
        this.lower = lower;
        this.upper = upper;
    }
}
