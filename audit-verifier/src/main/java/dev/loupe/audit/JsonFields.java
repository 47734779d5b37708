package dev.loupe.audit;

import java.time.Instant;
import java.time.format.DateTimeParseException;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Reads the fields of the audit trail's JSON documents (entry and checkpoint lines, evidence pack manifests and
 * keys), throwing {@link IllegalArgumentException} that names the field at fault.
 */
public final class JsonFields {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private JsonFields() {
    }

    /** Parses a JSON object. */
    public static JsonNode object(String text) {
        try {
            JsonNode json = MAPPER.readTree(text);
            if (json == null || !json.isObject()) {
                throw new IllegalArgumentException("not a JSON object");
            }
            return json;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage());
        }
    }

    public static String text(JsonNode json, String field) {
        return text(json, "", field);
    }

    /**
     * @param at prefix naming where {@code json} sits, e.g. {@code keys[2].}
     */
    public static String text(JsonNode json, String at, String field) {
        JsonNode value = json.get(field);
        if (value == null || !value.isTextual()) {
            throw new IllegalArgumentException(at + field + ": missing or not a string");
        }
        return value.asText();
    }

    public static long number(JsonNode json, String field) {
        JsonNode value = json.get(field);
        if (value == null || !value.isIntegralNumber() || !value.canConvertToLong()) {
            throw new IllegalArgumentException(field + ": missing or not an integer");
        }
        return value.asLong();
    }

    public static Instant instant(JsonNode json, String field) {
        try {
            return Instant.parse(text(json, field));
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(field + ": not an ISO-8601 instant");
        }
    }
}
