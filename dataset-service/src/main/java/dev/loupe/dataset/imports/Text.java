package dev.loupe.dataset.imports;

/** Small text helpers for error messages. */
final class Text {
    /** Longest piece of a user's value an error message repeats. */
    static final int QUOTE_LIMIT = 60;

    private Text() {
    }

    /**
     * A value quoted for an error message: cut to {@value #QUOTE_LIMIT} characters (a data URL must not flood a
     * report) and with control characters escaped (a message must not break a log line).
     */
    static String quote(String value) {
        StringBuilder out = new StringBuilder(Math.min(value.length(), QUOTE_LIMIT) + 8).append('\'');
        int end = Math.min(value.length(), QUOTE_LIMIT);
        if (end < value.length() && Character.isHighSurrogate(value.charAt(end - 1))) {
            end--;
        }
        for (int i = 0; i < end; i++) {
            char c = value.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        if (end < value.length()) {
            out.append("...");
        }
        return out.append('\'').toString();
    }

    /** UTF-8 length of a piece of a string, counted without encoding it. */
    static long utf8Length(CharSequence s) {
        long bytes = 0;
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                bytes++;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }
}
