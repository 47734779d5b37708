package dev.loupe.gateway.api;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import dev.loupe.contracts.dataset.v1.RotateDatasetKeyResponse;

/**
 * The result of rotating a dataset's key: every image's data key is wrapped under {@code keyVersion}.
 *
 * @param olderVersionsDeleted true when the older key versions are deleted for good; false while an import of
 *        the dataset runs, and then the retention job deletes them once no import runs
 */
@Schema(name = "DatasetKeyRotation")
public record KeyRotationView(String object, int keyVersion, long dataKeysRewrapped, boolean olderVersionsDeleted) {

    public static KeyRotationView of(RotateDatasetKeyResponse rotated) {
        return new KeyRotationView("dataset.key_rotation", rotated.getKeyVersion(), rotated.getDataKeysRewrapped(),
                rotated.getOlderVersionsDeleted());
    }
}
