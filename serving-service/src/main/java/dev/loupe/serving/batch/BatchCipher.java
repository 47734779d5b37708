package dev.loupe.serving.batch;

import java.nio.charset.StandardCharsets;

import dev.loupe.serving.model.Batch;
import dev.loupe.support.kms.SealedBlobs;

/**
 * Seals a batch's answers under the batch's data key (AES-256-GCM, {@link SealedBlobs} of kind {@code LOUPEBR1}),
 * each bound to its tenant, batch and position: answers to a dataset's pictures can repeat what the pictures show,
 * so they are kept like the pictures.
 */
public final class BatchCipher {
    /** The tenant's KEK that wraps its batches' data keys. */
    public static final String KEY_PREFIX = "batches-";
    private static final byte[] MAGIC = "LOUPEBR1".getBytes(StandardCharsets.US_ASCII);
    private static final String DOMAIN = "loupe.serving.batch-result.v1";

    private BatchCipher() {
    }

    public static byte[] seal(byte[] dataKey, Batch batch, long position, byte[] text) {
        return SealedBlobs.seal(dataKey, MAGIC, SealedBlobs.aad(DOMAIN, position, batch.tenant(), batch.id()), text);
    }

    /** @throws SealedBlobs.UnreadableException when the stored answer was altered or moved */
    public static byte[] open(byte[] dataKey, Batch batch, long position, byte[] sealed) {
        return SealedBlobs.open(dataKey, MAGIC, SealedBlobs.aad(DOMAIN, position, batch.tenant(), batch.id()),
                sealed);
    }
}
