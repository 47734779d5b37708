package dev.loupe.dataset.imports;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;

/**
 * The client ids seen so far in one import, kept as 64-bit keyed hashes with the line that used each first, so a
 * million ids cost 32 MiB (48 MiB for a moment while the table grows) however long they are. The key is random per import, so no file can be crafted to
 * make two different ids collide; by chance, two of a million ids share a hash with odds of about 3 in 10^8.
 */
final class IdRegistry {
    private final MessageDigest digest;
    private final byte[] key = new byte[16];
    private long[] hashes = new long[1024];
    private long[] lines = new long[1024];
    private int size;

    IdRegistry() {
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
        new SecureRandom().nextBytes(key);
    }

    /** Records an id; answers the line that used it before, or 0 when it is new. */
    long register(String id, long line) {
        long hash = hash(id);
        int mask = hashes.length - 1;
        for (int slot = mix(hash) & mask;; slot = (slot + 1) & mask) {
            if (lines[slot] == 0) {
                hashes[slot] = hash;
                lines[slot] = line;
                if (++size * 4 > hashes.length * 3) {
                    grow();
                }
                return 0;
            }
            if (hashes[slot] == hash) {
                return lines[slot];
            }
        }
    }

    int size() {
        return size;
    }

    private long hash(String id) {
        digest.reset();
        digest.update(key);
        byte[] out = digest.digest(id.getBytes(StandardCharsets.UTF_8));
        long hash = 0;
        for (int i = 0; i < 8; i++) {
            hash = (hash << 8) | (out[i] & 0xff);
        }
        return hash;
    }

    private static int mix(long hash) {
        return (int) (hash ^ (hash >>> 32));
    }

    private void grow() {
        long[] oldHashes = hashes;
        long[] oldLines = lines;
        hashes = new long[oldHashes.length * 2];
        lines = new long[oldLines.length * 2];
        int mask = hashes.length - 1;
        for (int i = 0; i < oldHashes.length; i++) {
            if (oldLines[i] != 0) {
                int slot = mix(oldHashes[i]) & mask;
                while (lines[slot] != 0) {
                    slot = (slot + 1) & mask;
                }
                hashes[slot] = oldHashes[i];
                lines[slot] = oldLines[i];
            }
        }
    }
}
