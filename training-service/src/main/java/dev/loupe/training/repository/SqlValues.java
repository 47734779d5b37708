package dev.loupe.training.repository;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;

import io.vertx.core.json.JsonObject;

/** Conversions between Java values and what the reactive SQL client reads and writes. */
final class SqlValues {
    private SqlValues() {
    }

    /** A jsonb object of numbers (scores, metrics). */
    static Map<String, Double> doubles(JsonObject json) {
        Map<String, Double> values = new LinkedHashMap<>();
        json.forEach(entry -> values.put(entry.getKey(), ((Number) entry.getValue()).doubleValue()));
        return values;
    }

    static Instant instant(OffsetDateTime value) {
        return value == null ? null : value.toInstant();
    }

    static OffsetDateTime utc(Instant instant) {
        return instant == null ? null : instant.atOffset(ZoneOffset.UTC);
    }

    /** What PostgreSQL keeps of an instant, so that what a write returns equals what a later read returns. */
    static Instant micros(Instant instant) {
        return instant.truncatedTo(ChronoUnit.MICROS);
    }
}
