package dev.loupe.support.kms;

/**
 * A data key: its plaintext, to use at once and forget, and its wrapping under a KEK, to store.
 *
 * @param plaintext 32 bytes, an AES-256 key
 * @param wrapped {@code <provider>:v<KEK version>:<opaque>}, e.g. {@code local:v1:...} or {@code vault:v1:...}
 */
public record DataKey(byte[] plaintext, String wrapped) {
}
