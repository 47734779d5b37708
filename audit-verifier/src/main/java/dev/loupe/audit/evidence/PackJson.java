package dev.loupe.audit.evidence;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.loupe.audit.JsonFields;

import static dev.loupe.audit.JsonFields.instant;
import static dev.loupe.audit.JsonFields.number;
import static dev.loupe.audit.JsonFields.text;

/**
 * The JSON of {@code manifest.json} and {@code verification-keys.json}. Parsing throws
 * {@link IllegalArgumentException} naming the field at fault, like {@code AuditJson}; the reader adds the zip
 * entry.
 */
final class PackJson {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private PackJson() {
    }

    static String manifest(EvidenceManifest manifest) {
        ObjectNode json = MAPPER.createObjectNode()
                .put("format", manifest.format())
                .put("chain", manifest.chain())
                .put("from", manifest.from() == null ? null : manifest.from().toString())
                .put("to", manifest.to() == null ? null : manifest.to().toString())
                .put("first_seq", manifest.firstSeq())
                .put("last_seq", manifest.lastSeq())
                .put("entries", manifest.entries())
                .put("exported_at", manifest.exportedAt().toString())
                .put("exported_by", manifest.exportedBy());
        return json.toPrettyString();
    }

    /** Reads a manifest of {@link EvidenceManifest#FORMAT} only: another format may mean other rules. */
    static EvidenceManifest manifest(String text) {
        JsonNode json = JsonFields.object(text);
        String format = text(json, "format");
        if (!EvidenceManifest.FORMAT.equals(format)) {
            throw new IllegalArgumentException("format \"" + format + "\" is not " + EvidenceManifest.FORMAT
                    + ", the only format this verifier reads");
        }
        long firstSeq = number(json, "first_seq");
        long lastSeq = number(json, "last_seq");
        long entries = number(json, "entries");
        if (firstSeq < 1 || lastSeq < firstSeq || entries < 0) {
            throw new IllegalArgumentException("first_seq, last_seq, entries: need 1 <= first_seq <= last_seq and "
                    + "entries >= 0, got " + firstSeq + ", " + lastSeq + ", " + entries);
        }
        return new EvidenceManifest(format, text(json, "chain"), optionalInstant(json, "from"),
                optionalInstant(json, "to"), firstSeq, lastSeq, entries, instant(json, "exported_at"),
                text(json, "exported_by"));
    }

    static String keys(List<PackKey> keys) {
        ObjectNode json = MAPPER.createObjectNode();
        ArrayNode array = json.putArray("keys");
        for (PackKey key : keys) {
            array.addObject()
                    .put("key_id", key.keyId())
                    .put("public_key", Base64.getEncoder().encodeToString(key.publicKey()));
        }
        return json.toPrettyString();
    }

    static List<PackKey> keys(String text) {
        JsonNode array = JsonFields.object(text).get("keys");
        if (array == null || !array.isArray()) {
            throw new IllegalArgumentException("keys: missing or not an array");
        }
        List<PackKey> keys = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < array.size(); i++) {
            JsonNode key = array.get(i);
            String at = "keys[" + i + "].";
            if (!key.isObject()) {
                throw new IllegalArgumentException("keys[" + i + "]: not an object");
            }
            String keyId = text(key, at, "key_id");
            byte[] publicKey;
            try {
                publicKey = Base64.getDecoder().decode(text(key, at, "public_key"));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(at + "public_key: not base64");
            }
            if (publicKey.length != PackKey.ED25519_KEY_BYTES) {
                throw new IllegalArgumentException(at + "public_key: " + publicKey.length
                        + " bytes, not a raw 32-byte Ed25519 public key");
            }
            // Two keys under one id would let a checkpoint verify with either: which one was meant is unknowable.
            if (!ids.add(keyId)) {
                throw new IllegalArgumentException(at + "key_id: " + keyId + " is listed twice");
            }
            keys.add(new PackKey(keyId, publicKey));
        }
        return keys;
    }

    private static Instant optionalInstant(JsonNode json, String field) {
        JsonNode value = json.get(field);
        if (value == null) {
            throw new IllegalArgumentException(field + ": missing (null when open)");
        }
        return value.isNull() ? null : instant(json, field);
    }
}
