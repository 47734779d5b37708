package dev.loupe.governance.model;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

import dev.loupe.support.hash.Sha256;

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
        Encoder out = new Encoder();
        out.text(DOMAIN);
        out.text(chain);
        out.number(seq);
        out.text(prevHash);
        out.text(event.eventId().toString());
        out.number(micros(event.occurredAt()));
        out.text(event.tenant());
        out.text(event.actorUserId());
        out.text(event.actorUsername());
        out.text(event.actorService());
        out.text(event.onBehalfUserId());
        out.text(event.onBehalfUsername());
        out.text(event.action());
        out.text(event.resourceType());
        out.text(event.resourceId());
        out.text(event.outcome());
        out.text(event.requestId());
        out.text(event.details());
        out.text(event.source());
        out.number(micros(appendedAt));
        return out.sha256();
    }

    public static boolean matches(AuditEntry entry) {
        return entry.hash().equals(of(entry.chain(), entry.seq(), entry.event(), entry.appendedAt(), entry.prevHash()));
    }

    /** Microseconds since the epoch: the precision PostgreSQL keeps. */
    public static long micros(Instant instant) {
        return ChronoUnit.MICROS.between(Instant.EPOCH, instant);
    }

    private static final class Encoder {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream(512);

        /** A string: 4-byte big-endian length of its UTF-8 bytes, then the bytes. */
        void text(String value) {
            byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
            bytes.writeBytes(ByteBuffer.allocate(4).putInt(utf8.length).array());
            bytes.writeBytes(utf8);
        }

        /** A number: 8 bytes, big-endian two's complement. */
        void number(long value) {
            bytes.writeBytes(ByteBuffer.allocate(8).putLong(value).array());
        }

        String sha256() {
            return Sha256.hex(bytes.toByteArray());
        }
    }
}
