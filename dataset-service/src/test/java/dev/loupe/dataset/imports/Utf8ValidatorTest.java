package dev.loupe.dataset.imports;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

class Utf8ValidatorTest {

    @Test
    void acceptsEveryLengthOfSequence() {
        byte[] text = "a é € 😀 日本".getBytes(StandardCharsets.UTF_8);
        assertEquals(-1, Utf8Validator.firstInvalid(text, 0, text.length));
    }

    /** Each hex string is "ok" followed by a malformed sequence, so the first invalid byte is at index 2. */
    @ParameterizedTest
    @ValueSource(strings = {"6f6bc080", // overlong 2-byte NUL
            "6f6be08080", // overlong 3-byte
            "6f6bf0808080", // overlong 4-byte
            "6f6beda080", // UTF-16 surrogate U+D800
            "6f6bf4908080", // above U+10FFFF
            "6f6b80", // lone continuation byte
            "6f6bc3", // truncated at the end
            "6f6bc328", // continuation byte missing
            "6f6bff", // never valid
            "6f6be9" // Latin-1 e-acute
    })
    void findsTheStartOfTheMalformedSequence(String hex) {
        byte[] bytes = new byte[hex.length() / 2];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        }
        assertEquals(2, Utf8Validator.firstInvalid(bytes, 0, bytes.length));
    }

    @Test
    void streamingAcrossChunksFindsTheSameOffset() {
        byte[] text = "héllo €".getBytes(StandardCharsets.UTF_8);
        Utf8Validator validator = new Utf8Validator();
        for (byte b : text) {
            validator.update(new byte[]{b}, 0, 1);
        }
        validator.update(new byte[]{(byte) 0xe2, (byte) 0x82}, 0, 2);
        validator.end();
        assertEquals(text.length, validator.firstInvalid());
    }
}
