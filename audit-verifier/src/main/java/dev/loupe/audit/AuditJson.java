package dev.loupe.audit;

import java.util.Base64;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import static dev.loupe.audit.JsonFields.instant;
import static dev.loupe.audit.JsonFields.number;
import static dev.loupe.audit.JsonFields.text;

/**
 * One JSON line per entry or checkpoint, as written to checkpoint files and evidence packs. Field names are
 * snake_case; times are ISO-8601 UTC with microseconds; {@code details} stays the exact string that was hashed.
 */
public final class AuditJson {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private AuditJson() {
    }

    public static String entryLine(AuditEntry entry) {
        AuditEvent event = entry.event();
        ObjectNode json = MAPPER.createObjectNode()
                .put("chain", entry.chain())
                .put("seq", entry.seq())
                .put("event_id", event.eventId().toString())
                .put("occurred_at", event.occurredAt().toString())
                .put("tenant", event.tenant())
                .put("actor_user_id", event.actorUserId())
                .put("actor_username_hash", event.actorUsernameHash())
                .put("actor_service", event.actorService())
                .put("on_behalf_user_id", event.onBehalfUserId())
                .put("on_behalf_username_hash", event.onBehalfUsernameHash())
                .put("action", event.action())
                .put("resource_type", event.resourceType())
                .put("resource_id", event.resourceId())
                .put("outcome", event.outcome())
                .put("request_id", event.requestId())
                .put("details", event.details())
                .put("source", event.source())
                .put("appended_at", entry.appendedAt().toString())
                .put("prev_hash", entry.prevHash())
                .put("hash", entry.hash());
        return json.toString();
    }

    /**
     * @throws IllegalArgumentException naming the field at fault
     */
    public static AuditEntry entry(String line) {
        JsonNode json = JsonFields.object(line);
        AuditEvent event = new AuditEvent(UUID.fromString(text(json, "event_id")), instant(json, "occurred_at"),
                text(json, "tenant"), text(json, "actor_user_id"), text(json, "actor_username_hash"),
                text(json, "actor_service"), text(json, "on_behalf_user_id"), text(json, "on_behalf_username_hash"),
                text(json, "action"), text(json, "resource_type"), text(json, "resource_id"), text(json, "outcome"),
                text(json, "request_id"), text(json, "details"), text(json, "source"));
        return new AuditEntry(text(json, "chain"), number(json, "seq"), event, instant(json, "appended_at"),
                text(json, "prev_hash"), text(json, "hash"));
    }

    public static String checkpointLine(Checkpoint checkpoint) {
        return MAPPER.createObjectNode()
                .put("chain", checkpoint.chain())
                .put("seq", checkpoint.seq())
                .put("head_hash", checkpoint.headHash())
                .put("signed_at", checkpoint.signedAt().toString())
                .put("key_id", checkpoint.keyId())
                .put("signature", Base64.getEncoder().encodeToString(checkpoint.signature()))
                .toString();
    }

    /**
     * @throws IllegalArgumentException naming the field at fault
     */
    public static Checkpoint checkpoint(String line) {
        JsonNode json = JsonFields.object(line);
        byte[] signature;
        try {
            signature = Base64.getDecoder().decode(text(json, "signature"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("signature: not base64");
        }
        return new Checkpoint(text(json, "chain"), number(json, "seq"), text(json, "head_hash"),
                instant(json, "signed_at"), text(json, "key_id"), signature);
    }
}
