package dev.loupe.audit;

import java.time.Instant;

/**
 * An event at its place in a chain: {@code hash} covers every other field and {@code prevHash} is the hash of
 * entry {@code seq - 1} (64 zeros for the first), as {@link ChainHash} defines.
 */
public record AuditEntry(String chain, long seq, AuditEvent event, Instant appendedAt, String prevHash, String hash) {
}
