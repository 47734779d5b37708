package dev.loupe.dataset.imports;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/** Helpers the import tests share. */
final class Fixtures {
    /** Eight bytes that start every PNG; enough for an inline image here, where bytes are not sniffed. */
    static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static final String PNG_DATA_URL = "data:image/png;base64," + Base64.getEncoder().encodeToString(PNG_SIGNATURE);

    private Fixtures() {
    }

    static List<LineResult> read(ImportFormat format, ImportLimits limits, byte[] input) {
        return read(format, limits, new ByteArrayInputStream(input));
    }

    static List<LineResult> read(ImportFormat format, ImportLimits limits, String input) {
        return read(format, limits, input.getBytes(StandardCharsets.UTF_8));
    }

    static List<LineResult> read(ImportFormat format, ImportLimits limits, InputStream input) {
        List<LineResult> results = new ArrayList<>();
        try {
            format.importer(limits).read(input, results::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return results;
    }

    /** The one record of a single valid line; fails with the errors otherwise. */
    static ImportRecord single(ImportFormat format, String input) {
        List<LineResult> results = read(format, ImportLimits.defaults(), input);
        if (results.size() != 1 || !(results.get(0) instanceof LineResult.Valid valid)) {
            throw new AssertionError("expected one valid line, got " + results);
        }
        return valid.record();
    }

    /** A stream of {@code count} copies of one byte, produced as it is read. */
    static InputStream repeat(byte value, long count) {
        return new InputStream() {
            private long left = count;

            @Override
            public int read() {
                if (left == 0) {
                    return -1;
                }
                left--;
                return value;
            }

            @Override
            public int read(byte[] buffer, int offset, int length) {
                if (left == 0) {
                    return -1;
                }
                int n = (int) Math.min(length, left);
                java.util.Arrays.fill(buffer, offset, offset + n, value);
                left -= n;
                return n;
            }
        };
    }

    static InputStream bytes(String text) {
        return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
    }

    /** JSON text of a string value. */
    static String json(String value) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : value.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }

    /** A native line with one user turn (holding the given content) and one assistant answer. */
    static String nativeLine(String imagesJson, String userContent) {
        return "{\"images\":" + imagesJson + ",\"messages\":[{\"role\":\"user\",\"content\":" + json(userContent)
                + "},{\"role\":\"assistant\",\"content\":\"A cat.\"}]}";
    }

    /** An OpenAI line whose user turn has one image_url part with the given URL and a text part. */
    static String openAiLine(String url) {
        return "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":"
                + json(url) + "}},{\"type\":\"text\",\"text\":\"What is this?\"}]},"
                + "{\"role\":\"assistant\",\"content\":\"A cat.\"}]}";
    }
}
