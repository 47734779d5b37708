package dev.loupe.support.id;

import java.security.SecureRandom;
import java.util.Optional;
import java.util.UUID;

/**
 * Resource ids: UUID version 7 (RFC 9562), whose first 48 bits are the creation time in milliseconds. Ids
 * sort by creation, so a list ordered by id is ordered by age and the last id of a page is its cursor.
 */
public final class Ids {
    private static final SecureRandom RANDOM = new SecureRandom();

    private Ids() {
    }

    public static UUID newId() {
        long millis = System.currentTimeMillis();
        long randA = RANDOM.nextInt(1 << 12);
        long msb = (millis << 16) | (0x7L << 12) | randA;
        long lsb = (RANDOM.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new UUID(msb, lsb);
    }

    /** Parses an id from a request; anything malformed is simply an id that names nothing. */
    public static Optional<UUID> parse(String id) {
        if (id == null || id.length() != 36) {
            return Optional.empty();
        }
        try {
            return Optional.of(UUID.fromString(id));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
