package dev.loupe.audit;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The byte encoding every hashed or signed audit structure uses: a domain tag first, then each field
 * length-prefixed or fixed-width, so that no two structures encode alike.
 */
final class CanonicalEncoder {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream(512);

    CanonicalEncoder(String domain) {
        text(domain);
    }

    /** A string: 4-byte big-endian length of its UTF-8 bytes, then the bytes. */
    CanonicalEncoder text(String value) {
        byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
        bytes.writeBytes(ByteBuffer.allocate(4).putInt(utf8.length).array());
        bytes.writeBytes(utf8);
        return this;
    }

    /** A number: 8 bytes, big-endian two's complement. */
    CanonicalEncoder number(long value) {
        bytes.writeBytes(ByteBuffer.allocate(8).putLong(value).array());
        return this;
    }

    byte[] bytes() {
        return bytes.toByteArray();
    }

    /** Lower-case hex SHA-256 of the encoding. */
    String sha256Hex() {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
