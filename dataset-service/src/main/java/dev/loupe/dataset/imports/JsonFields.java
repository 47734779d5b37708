package dev.loupe.dataset.imports;

import java.util.Iterator;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Reads the fields of a parsed line, reporting what is missing, mistyped or unknown. A JSON {@code null} counts as
 * absent for an optional field and as the wrong type for a required one.
 */
final class JsonFields {
    private JsonFields() {
    }

    /** The node as an object, or null after reporting {@code wrong_type}. */
    static ObjectNode object(JsonNode node, String pointer, String what, ErrorCollector errors) {
        if (node instanceof ObjectNode object) {
            return object;
        }
        errors.add(ImportErrorCode.WRONG_TYPE, pointer, what + " must be a JSON object, not " + typeName(node));
        return null;
    }

    /** The node as an array, or null after reporting {@code wrong_type}. */
    static ArrayNode array(JsonNode node, String pointer, String what, ErrorCollector errors) {
        if (node instanceof ArrayNode array) {
            return array;
        }
        errors.add(ImportErrorCode.WRONG_TYPE, pointer, what + " must be a JSON array, not " + typeName(node));
        return null;
    }

    /** The node as a string, or null after reporting {@code wrong_type}. */
    static String string(JsonNode node, String pointer, String what, ErrorCollector errors) {
        if (node.isTextual()) {
            return node.textValue();
        }
        errors.add(ImportErrorCode.WRONG_TYPE, pointer, what + " must be a string, not " + typeName(node));
        return null;
    }

    /** Reports each field not in {@code known} as {@code unknown_field}, naming the fields the object may have. */
    static void refuseUnknown(ObjectNode object, String pointer, Set<String> known, String allowed,
            ErrorCollector errors) {
        for (Iterator<String> names = object.fieldNames(); names.hasNext();) {
            String name = names.next();
            if (!known.contains(name)) {
                errors.add(ImportErrorCode.UNKNOWN_FIELD, Pointers.field(pointer, name),
                        "unknown field " + Text.quote(name) + "; allowed here: " + allowed);
            }
        }
    }

    /** The field's value, or null after reporting {@code missing_field} (absent) or {@code wrong_type} (null). */
    static JsonNode required(ObjectNode object, String field, String pointer, ErrorCollector errors) {
        JsonNode value = object.get(field);
        String at = Pointers.field(pointer, field);
        if (value == null) {
            errors.add(ImportErrorCode.MISSING_FIELD, at, "the field " + Text.quote(field) + " is required");
            return null;
        }
        if (value.isNull()) {
            errors.add(ImportErrorCode.WRONG_TYPE, at, "the field " + Text.quote(field) + " must not be null");
            return null;
        }
        return value;
    }

    /** The field's value, or null when it is absent or null. */
    static JsonNode optional(ObjectNode object, String field) {
        JsonNode value = object.get(field);
        return value == null || value.isNull() ? null : value;
    }

    /** An integer that fits an int, or null after reporting {@code wrong_type}. */
    static Integer index(JsonNode node, String pointer, String what, ErrorCollector errors) {
        if (node.isIntegralNumber() && node.canConvertToInt()) {
            return node.intValue();
        }
        errors.add(ImportErrorCode.WRONG_TYPE, pointer, what + " must be an integer, not " + typeName(node));
        return null;
    }

    static String typeName(JsonNode node) {
        return switch (node.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NULL -> "null";
            default -> "a " + node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }
}
