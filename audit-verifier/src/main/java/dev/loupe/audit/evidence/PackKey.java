package dev.loupe.audit.evidence;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * A public key that verifies checkpoint signatures, as an evidence pack or the officer carries it.
 *
 * @param keyId the key version a checkpoint names, e.g. {@code local:audit-checkpoints:v1}
 * @param publicKey the raw 32-byte Ed25519 public key (RFC 8032 encoding)
 */
public record PackKey(String keyId, byte[] publicKey) {
    /** Length of a raw Ed25519 public key. */
    public static final int ED25519_KEY_BYTES = 32;

    /**
     * @throws IllegalArgumentException when the key id is blank or the key is not 32 bytes
     */
    public PackKey {
        if (keyId == null || keyId.isBlank()) {
            throw new IllegalArgumentException("key id is blank");
        }
        if (publicKey == null || publicKey.length != ED25519_KEY_BYTES) {
            throw new IllegalArgumentException("key " + keyId + ": not a raw 32-byte Ed25519 public key");
        }
        publicKey = publicKey.clone();
    }

    @Override
    public byte[] publicKey() {
        return publicKey.clone();
    }

    /** Equal when the key ids and the key bytes are, unlike the identity a record compares arrays by. */
    @Override
    public boolean equals(Object other) {
        return other instanceof PackKey key && keyId.equals(key.keyId) && Arrays.equals(publicKey, key.publicKey);
    }

    @Override
    public int hashCode() {
        return 31 * keyId.hashCode() + Arrays.hashCode(publicKey);
    }

    @Override
    public String toString() {
        return "PackKey[" + keyId + ", sha256:" + fingerprint() + "]";
    }

    /**
     * Lower-case hex SHA-256 of the raw public key: short enough to read out and compare with the fingerprint
     * the operator publishes, e.g. {@code base64 -d <<< KEY | sha256sum}.
     */
    public String fingerprint() {
        return fingerprint(publicKey);
    }

    /** Lower-case hex SHA-256 of a raw public key. */
    public static String fingerprint(byte[] publicKey) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(publicKey));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
