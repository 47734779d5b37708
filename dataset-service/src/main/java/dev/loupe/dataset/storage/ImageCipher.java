package dev.loupe.dataset.storage;

import java.nio.charset.StandardCharsets;

import dev.loupe.support.kms.SealedBlobs;

/**
 * Seals one image with AES-256-GCM under its own data key ({@link SealedBlobs}, kind {@code LOUPEIM1}). The
 * additional authenticated data names the tenant, dataset, record and image position, so a blob copied to another
 * record's place, or another tenant's, fails to open like a tampered one.
 */
public final class ImageCipher {
    private static final byte[] MAGIC = "LOUPEIM1".getBytes(StandardCharsets.US_ASCII);

    /** Where an image belongs; every field is bound into the ciphertext. */
    public record Place(String tenant, String datasetId, String recordId, int index) {
        byte[] aad() {
            return SealedBlobs.aad("loupe.dataset.image.v1", index, tenant, datasetId, recordId);
        }
    }

    private ImageCipher() {
    }

    public static byte[] seal(byte[] dataKey, Place place, byte[] plaintext) {
        return SealedBlobs.seal(dataKey, MAGIC, place.aad(), plaintext);
    }

    /**
     * @throws ImageUnreadableException when the blob was altered, belongs to another place or key, or is no blob
     */
    public static byte[] open(byte[] dataKey, Place place, byte[] blob) {
        try {
            return SealedBlobs.open(dataKey, MAGIC, place.aad(), blob);
        } catch (SealedBlobs.UnreadableException e) {
            throw new ImageUnreadableException("the stored image cannot be opened: " + e.getMessage());
        }
    }
}
