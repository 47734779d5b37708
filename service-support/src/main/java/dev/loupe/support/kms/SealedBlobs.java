package dev.loupe.support.kms;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Small pieces of data sealed with AES-256-GCM under a data key: a stored image, a batch answer. Layout: an 8-byte
 * magic naming the kind, a 12-byte random nonce, the ciphertext with its 16-byte tag. The additional authenticated
 * data names where the blob belongs ({@link #aad}), so a blob copied to another place fails to open like a tampered
 * one.
 */
public final class SealedBlobs {
    private static final int MAGIC_BYTES = 8;
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;
    private static final SecureRandom RANDOM = new SecureRandom();

    private SealedBlobs() {
    }

    /** A blob that cannot be opened: altered, of another place or key, or no blob of this kind. */
    public static final class UnreadableException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UnreadableException(String message) {
            super(message);
        }
    }

    /**
     * The additional data of a place: a domain (e.g. {@code loupe.dataset.image.v1}), the place's names, a number;
     * each name length-prefixed so that no two places share their bytes.
     */
    public static byte[] aad(String domain, long index, String... names) {
        try (ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                DataOutputStream out = new DataOutputStream(bytes)) {
            byte[] utf8 = domain.getBytes(StandardCharsets.UTF_8);
            out.writeInt(utf8.length);
            out.write(utf8);
            for (String name : names) {
                utf8 = name.getBytes(StandardCharsets.UTF_8);
                out.writeInt(utf8.length);
                out.write(utf8);
            }
            if (index == (int) index) {
                out.writeInt((int) index);
            } else {
                out.writeLong(index);
            }
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** @param magic 8 ASCII bytes naming the kind of blob */
    public static byte[] seal(byte[] dataKey, byte[] magic, byte[] aad, byte[] plaintext) {
        if (magic.length != MAGIC_BYTES) {
            throw new IllegalArgumentException("a blob's magic is " + MAGIC_BYTES + " bytes");
        }
        byte[] nonce = new byte[NONCE_BYTES];
        RANDOM.nextBytes(nonce);
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(dataKey, "AES"), new GCMParameterSpec(TAG_BITS, nonce));
            cipher.updateAAD(aad);
            byte[] blob = new byte[MAGIC_BYTES + NONCE_BYTES + cipher.getOutputSize(plaintext.length)];
            System.arraycopy(magic, 0, blob, 0, MAGIC_BYTES);
            System.arraycopy(nonce, 0, blob, MAGIC_BYTES, NONCE_BYTES);
            cipher.doFinal(plaintext, 0, plaintext.length, blob, MAGIC_BYTES + NONCE_BYTES);
            return blob;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256-GCM is not available in this JVM", e);
        }
    }

    /**
     * @throws UnreadableException when the blob was altered, belongs to another place or key, or is not of this
     *         kind
     */
    public static byte[] open(byte[] dataKey, byte[] magic, byte[] aad, byte[] blob) {
        if (blob.length < MAGIC_BYTES + NONCE_BYTES + TAG_BITS / 8
                || !Arrays.equals(blob, 0, MAGIC_BYTES, magic, 0, MAGIC_BYTES)) {
            throw new UnreadableException("not a sealed blob of this kind");
        }
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(dataKey, "AES"),
                    new GCMParameterSpec(TAG_BITS, blob, MAGIC_BYTES, NONCE_BYTES));
            cipher.updateAAD(aad);
            int offset = MAGIC_BYTES + NONCE_BYTES;
            return cipher.doFinal(blob, offset, blob.length - offset);
        } catch (AEADBadTagException e) {
            throw new UnreadableException("failed its integrity check: altered, or of another place or key");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256-GCM is not available in this JVM", e);
        }
    }
}
