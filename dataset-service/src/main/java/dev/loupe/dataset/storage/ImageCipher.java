package dev.loupe.dataset.storage;

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
 * Seals one image with AES-256-GCM under its own data key. The additional authenticated data names the tenant,
 * dataset, record and image position, so a blob copied to another record's place, or another tenant's, fails to
 * open like a tampered one. Blob layout: the 8 bytes {@code LOUPEIM1}, a 12-byte random nonce, the ciphertext with
 * its 16-byte tag.
 */
public final class ImageCipher {
    private static final byte[] MAGIC = "LOUPEIM1".getBytes(StandardCharsets.US_ASCII);
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Where an image belongs; every field is bound into the ciphertext. */
    public record Place(String tenant, String datasetId, String recordId, int index) {
        byte[] aad() {
            try (ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                    DataOutputStream out = new DataOutputStream(bytes)) {
                for (String part : new String[]{"loupe.dataset.image.v1", tenant, datasetId, recordId}) {
                    byte[] utf8 = part.getBytes(StandardCharsets.UTF_8);
                    out.writeInt(utf8.length);
                    out.write(utf8);
                }
                out.writeInt(index);
                out.flush();
                return bytes.toByteArray();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private ImageCipher() {
    }

    public static byte[] seal(byte[] dataKey, Place place, byte[] plaintext) {
        byte[] nonce = new byte[NONCE_BYTES];
        RANDOM.nextBytes(nonce);
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(dataKey, "AES"), new GCMParameterSpec(TAG_BITS, nonce));
            cipher.updateAAD(place.aad());
            byte[] blob = new byte[MAGIC.length + NONCE_BYTES + cipher.getOutputSize(plaintext.length)];
            System.arraycopy(MAGIC, 0, blob, 0, MAGIC.length);
            System.arraycopy(nonce, 0, blob, MAGIC.length, NONCE_BYTES);
            cipher.doFinal(plaintext, 0, plaintext.length, blob, MAGIC.length + NONCE_BYTES);
            return blob;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256-GCM is not available in this JVM", e);
        }
    }

    /**
     * @throws ImageUnreadableException when the blob was altered, belongs to another place or key, or is no blob
     */
    public static byte[] open(byte[] dataKey, Place place, byte[] blob) {
        if (blob.length < MAGIC.length + NONCE_BYTES + TAG_BITS / 8
                || !Arrays.equals(blob, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new ImageUnreadableException("the stored image is not an encrypted Loupe image");
        }
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(dataKey, "AES"),
                    new GCMParameterSpec(TAG_BITS, blob, MAGIC.length, NONCE_BYTES));
            cipher.updateAAD(place.aad());
            int offset = MAGIC.length + NONCE_BYTES;
            return cipher.doFinal(blob, offset, blob.length - offset);
        } catch (AEADBadTagException e) {
            throw new ImageUnreadableException(
                    "the stored image failed its integrity check: it was altered or belongs to another record");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256-GCM is not available in this JVM", e);
        }
    }
}
