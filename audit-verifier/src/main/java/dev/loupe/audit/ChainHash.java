package dev.loupe.audit;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * The hash of an audit entry: SHA-256 over a canonical byte encoding, written out in docs/audit-chain.md so that
 * anyone can recompute it without Loupe. The encoding starts with a domain tag, so these bytes cannot be read as
 * any other hashed structure; every field is length-prefixed, so no two entries encode alike.
 */
public final class ChainHash {
    /** Domain tag and encoding version, first in every encoding. */
    public static final String DOMAIN = "loupe.audit.entry.v1";
    /** The {@code prevHash} of the first entry of every chain. */
    public static final String GENESIS = "0".repeat(64);

    private ChainHash() {
    }

    /** The hash an entry must carry, computed from all its other fields. */
    public static String of(String chain, long seq, AuditEvent event, Instant appendedAt, String prevHash) {
        return new CanonicalEncoder(DOMAIN)
                .text(chain)
                .number(seq)
                .text(prevHash)
                .text(event.eventId().toString())
                .number(micros(event.occurredAt()))
                .text(event.tenant())
                .text(event.actorUserId())
                .text(event.actorUsernameHash())
                .text(event.actorService())
                .text(event.onBehalfUserId())
                .text(event.onBehalfUsernameHash())
                .text(event.action())
                .text(event.resourceType())
                .text(event.resourceId())
                .text(event.outcome())
                .text(event.requestId())
                .text(event.details())
                .text(event.source())
                .number(micros(appendedAt))
                .sha256Hex();
    }

    public static boolean matches(AuditEntry entry) {
        return entry.hash().equals(of(entry.chain(), entry.seq(), entry.event(), entry.appendedAt(), entry.prevHash()));
    }

    /** Microseconds since the epoch: the precision PostgreSQL keeps. */
    public static long micros(Instant instant) {
        return ChronoUnit.MICROS.between(Instant.EPOCH, instant);
    }
}
