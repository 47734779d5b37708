package dev.loupe.support.kms;

import java.util.List;

/**
 * Named HMAC-SHA256 keys held by the KMS, for values that must be found again by equality but must not be
 * readable where they are stored: personal identifiers in the audit trail, duplicate detection of images. Each
 * name has numbered versions; hashing uses the newest, and a value can be hashed under every version so that
 * what was stored before a rotation is still found. Destroying a key leaves its hashes unlinkable to anyone.
 */
public interface KeyedHashes {

    /** The HMAC-SHA256 of {@code data} under the newest version of the named key, creating the key if needed. */
    KeyedHash hash(String keyName, byte[] data);

    /** The HMAC-SHA256 of {@code data} under every version of the named key, newest first; empty if none. */
    List<KeyedHash> hashesUnderEveryVersion(String keyName, byte[] data);

    /**
     * Adds a new version of the named key; later hashes use it.
     *
     * @return the new version's number
     */
    int rotate(String keyName);
}
