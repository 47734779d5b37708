package dev.loupe.dataset.storage;

import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Where encrypted blobs live: a folder by default; an S3-compatible store can implement the same contract.
 * Keys are relative paths of lower-case letters, digits, dashes and dots, separated by slashes.
 */
public interface BlobStore {

    /**
     * Stores blobs durably (on return every one survives a crash), replacing any blob under the same key. Several
     * at once, so that a store can make them durable together.
     */
    void putAll(Map<String, byte[]> blobs) throws IOException;

    /** The blob, or empty when there is none. */
    Optional<byte[]> get(String key) throws IOException;

    /** Removes a blob; nothing happens when there is none. */
    void delete(String key) throws IOException;

    /** Removes every blob whose key starts with {@code prefix + "/"}. */
    void deleteAll(String prefix) throws IOException;

    /** A stored blob's key and when it was written. */
    record StoredBlob(String key, Instant writtenAt) {
    }

    /** Every blob, for the sweeper that removes those no record names. */
    List<StoredBlob> list() throws IOException;
}
