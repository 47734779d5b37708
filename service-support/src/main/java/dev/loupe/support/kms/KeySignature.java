package dev.loupe.support.kms;

/**
 * An Ed25519 signature and the key version that made it.
 *
 * @param keyId names provider, key and version, e.g. {@code local:audit-checkpoints:v1}
 * @param signature the 64 signature bytes
 */
public record KeySignature(String keyId, byte[] signature) {
}
