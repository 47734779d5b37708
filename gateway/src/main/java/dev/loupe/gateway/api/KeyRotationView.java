package dev.loupe.gateway.api;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import dev.loupe.contracts.dataset.v1.RotateDatasetKeyResponse;

/**
 * The result of rotating a dataset's key: every image's data key is wrapped under {@code keyVersion}, and the
 * older versions no longer decrypt.
 */
@Schema(name = "DatasetKeyRotation")
public record KeyRotationView(String object, int keyVersion, long dataKeysRewrapped) {

    public static KeyRotationView of(RotateDatasetKeyResponse rotated) {
        return new KeyRotationView("dataset.key_rotation", rotated.getKeyVersion(), rotated.getDataKeysRewrapped());
    }
}
