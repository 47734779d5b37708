package dev.loupe.engine.generate.json;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.loupe.engine.generate.json.Schema.ArraySchema;
import dev.loupe.engine.generate.json.Schema.LiteralSchema;
import dev.loupe.engine.generate.json.Schema.NumberSchema;
import dev.loupe.engine.generate.json.Schema.ObjectSchema;
import dev.loupe.engine.generate.json.Schema.StringSchema;

/**
 * Compiles a JSON Schema of the subset {@link JsonConstraint} documents, and refuses every other keyword with the
 * JSON pointer of the first one found: a schema the recogniser would only partly enforce must not be taken for
 * one it enforces.
 */
final class SchemaReader {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Keywords that describe a schema without changing which documents are valid. */
    private static final Set<String> ANNOTATIONS = Set.of("$schema", "$comment", "title", "description");
    /** The keywords each type allows besides {@code type} and the annotations. */
    private static final Map<String, Set<String>> KEYWORDS = Map.of(
            "object", Set.of("properties", "required", "additionalProperties"),
            "array", Set.of("items", "minItems", "maxItems"),
            "string", Set.of("maxLength"),
            "number", Set.of(),
            "integer", Set.of(),
            "boolean", Set.of(),
            "null", Set.of());

    private SchemaReader() {
    }

    static Schema read(JsonNode schema) {
        return read(schema, "");
    }

    private static Schema read(JsonNode schema, String pointer) {
        if (!schema.isObject()) {
            throw refuse(pointer, "a schema must be a JSON object");
        }
        JsonNode typeNode = schema.get("type");
        if (typeNode != null && !(typeNode.isTextual() && KEYWORDS.containsKey(typeNode.asText()))) {
            throw refuse(pointer + "/type", "type must be one of " + KEYWORDS.keySet());
        }
        String type = typeNode == null ? null : typeNode.asText();
        if (schema.has("enum")) {
            onlyKeywords(schema, pointer, "enum", Set.of("enum"));
            return enumSchema(schema.get("enum"), type, pointer + "/enum");
        }
        if (type == null) {
            // An unsupported keyword (a $ref, an anyOf) is the likelier mistake than a missing type: name it.
            onlyKeywords(schema, pointer, "type-less", Set.of());
            throw refuse(pointer, "a schema needs a type or an enum");
        }
        onlyKeywords(schema, pointer, type, KEYWORDS.get(type));
        return switch (type) {
            case "object" -> objectSchema(schema, pointer);
            case "array" -> arraySchema(schema, pointer);
            case "string" -> new StringSchema(count(schema, "maxLength", pointer, Integer.MAX_VALUE));
            case "number" -> new NumberSchema(false);
            case "integer" -> new NumberSchema(true);
            case "boolean" -> new LiteralSchema(new byte[][]{bytes("true"), bytes("false")});
            default -> new LiteralSchema(new byte[][]{bytes("null")});
        };
    }

    private static void onlyKeywords(JsonNode schema, String pointer, String kind, Set<String> allowed) {
        for (Iterator<String> names = schema.fieldNames(); names.hasNext();) {
            String name = names.next();
            if (!name.equals("type") && !allowed.contains(name) && !ANNOTATIONS.contains(name)) {
                List<String> supported = new ArrayList<>(List.of("type"));
                allowed.stream().sorted().forEach(supported::add);
                ANNOTATIONS.stream().sorted().forEach(supported::add);
                throw refuse(pointer + "/" + escape(name), "unsupported JSON Schema keyword " + name + " (a " + kind
                        + " schema allows " + String.join(", ", supported) + ")");
            }
        }
    }

    private static ObjectSchema objectSchema(JsonNode schema, String pointer) {
        JsonNode additional = schema.get("additionalProperties");
        if (additional != null && !(additional.isBoolean() && !additional.asBoolean())) {
            throw refuse(pointer + "/additionalProperties", "only additionalProperties: false is supported");
        }
        JsonNode properties = schema.path("properties");
        if (!properties.isMissingNode() && !properties.isObject()) {
            throw refuse(pointer + "/properties", "properties must be an object");
        }
        List<String> names = new ArrayList<>();
        properties.fieldNames().forEachRemaining(names::add);
        boolean[] required = new boolean[names.size()];
        JsonNode requiredNode = schema.path("required");
        if (!requiredNode.isMissingNode() && !requiredNode.isArray()) {
            throw refuse(pointer + "/required", "required must be an array of property names");
        }
        for (int i = 0; i < requiredNode.size(); i++) {
            int index = names.indexOf(requiredNode.get(i).asText(null));
            if (!requiredNode.get(i).isTextual() || index < 0) {
                // A closed object cannot hold a required property it does not list.
                throw refuse(pointer + "/required/" + i, "a required name must be one of the properties");
            }
            required[index] = true;
        }
        byte[][] keys = new byte[names.size()][];
        Schema[] values = new Schema[names.size()];
        for (int i = 0; i < names.size(); i++) {
            keys[i] = literal(JSON.getNodeFactory().textNode(names.get(i)));
            values[i] = read(properties.get(names.get(i)), pointer + "/properties/" + escape(names.get(i)));
        }
        return ObjectSchema.of(keys, values, required);
    }

    private static ArraySchema arraySchema(JsonNode schema, String pointer) {
        if (!schema.has("items")) {
            throw refuse(pointer, "an array schema needs items");
        }
        int minItems = count(schema, "minItems", pointer, 0);
        int maxItems = count(schema, "maxItems", pointer, Integer.MAX_VALUE);
        if (maxItems < minItems) {
            throw refuse(pointer + "/maxItems", "maxItems is below minItems");
        }
        return new ArraySchema(read(schema.get("items"), pointer + "/items"), minItems, maxItems);
    }

    private static LiteralSchema enumSchema(JsonNode values, String type, String pointer) {
        if (!values.isArray() || values.isEmpty()) {
            throw refuse(pointer, "enum must be a non-empty array");
        }
        // Equal values are one alternative: the recogniser relies on distinct literals.
        Set<String> literals = new LinkedHashSet<>();
        for (int i = 0; i < values.size(); i++) {
            JsonNode value = values.get(i);
            if (!value.isValueNode()) {
                throw refuse(pointer + "/" + i, "enum values must be strings, numbers, booleans or null");
            }
            if (type != null && !hasType(value, type)) {
                throw refuse(pointer + "/" + i, "the enum value is not of type " + type);
            }
            literals.add(new String(literal(value), StandardCharsets.UTF_8));
        }
        return new LiteralSchema(literals.stream().map(SchemaReader::bytes).toArray(byte[][]::new));
    }

    private static boolean hasType(JsonNode value, String type) {
        return switch (type) {
            case "string" -> value.isTextual();
            case "number" -> value.isNumber();
            case "integer" -> value.isIntegralNumber();
            case "boolean" -> value.isBoolean();
            case "null" -> value.isNull();
            default -> false;
        };
    }

    private static int count(JsonNode schema, String keyword, String pointer, int absent) {
        JsonNode value = schema.get(keyword);
        if (value == null) {
            return absent;
        }
        if (!value.canConvertToInt() || !value.isIntegralNumber() || value.asInt() < 0) {
            throw refuse(pointer + "/" + keyword, keyword + " must be a non-negative integer");
        }
        return value.asInt();
    }

    /** The value as Jackson writes it: the one spelling of it the recogniser accepts. */
    private static byte[] literal(JsonNode value) {
        try {
            return JSON.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON value node always serializes", e);
        }
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** A property name as a JSON pointer token (RFC 6901). */
    private static String escape(String name) {
        return name.replace("~", "~0").replace("/", "~1");
    }

    private static IllegalArgumentException refuse(String pointer, String reason) {
        return new IllegalArgumentException("unsupported schema at JSON pointer \"" + pointer + "\": " + reason);
    }
}
