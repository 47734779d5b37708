package dev.loupe.training.model;

/**
 * One file of a base model's checkpoint folder as it was hashed at registration: an entry of
 * {@link BaseModel#fileManifest}, stored as {@code {"sha256": ..., "size": ...}}.
 *
 * @param sha256 SHA-256 of its bytes, lower-case hex
 * @param size its length in bytes
 */
public record ModelFile(String sha256, long size) {
}
