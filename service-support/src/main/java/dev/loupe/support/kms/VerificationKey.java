package dev.loupe.support.kms;

/**
 * The public half of one version of a signing key.
 *
 * @param keyId as in {@link KeySignature#keyId()}
 * @param publicKey the raw 32-byte Ed25519 public key (RFC 8032 encoding)
 */
public record VerificationKey(String keyId, byte[] publicKey) {
}
