package dev.loupe.governance.grpc;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import dev.loupe.audit.AuditEntry;
import dev.loupe.audit.AuditEvent;
import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.governance.v1.AuditActor;
import dev.loupe.contracts.governance.v1.ChainEntry;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.contracts.governance.v1.ResourceRef;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.grpc.ProtoStructs;
import dev.loupe.support.grpc.ProtoTime;
import dev.loupe.support.id.Ids;

/**
 * Checks the events a producer sends and turns them into {@link AuditEvent}s. A batch with one bad event is
 * refused whole, naming the event and field ({@code events[3].action}): a producer that sends bad events has
 * a bug that retrying will not fix.
 */
final class AuditEvents {
    static final int MAX_BATCH = 1000;
    static final int MAX_TEXT = 256;
    static final int MAX_DETAILS_BYTES = 4096;
    private static final Pattern ACTION = Pattern.compile("[a-z][a-z0-9_-]*(\\.[a-z][a-z0-9_-]*)+");
    private static final Pattern TENANT = Pattern.compile("[a-z][a-z0-9-]{1,62}");
    private static final ObjectMapper JSON = new ObjectMapper();

    private AuditEvents() {
    }

    /**
     * The checked events, with their usernames still in clear in the username-hash fields:
     * {@link dev.loupe.governance.service.AuditChainService#append} replaces them with their keyed hashes before
     * anything is stored.
     */
    static List<AuditEvent> fromProto(List<dev.loupe.contracts.governance.v1.AuditEvent> events) {
        if (events.isEmpty() || events.size() > MAX_BATCH) {
            throw ProblemException.invalid("events", "send 1 to " + MAX_BATCH + " events per call");
        }
        List<AuditEvent> result = new ArrayList<>(events.size());
        for (int i = 0; i < events.size(); i++) {
            result.add(fromProto(events.get(i), "events[" + i + "]."));
        }
        return result;
    }

    private static AuditEvent fromProto(dev.loupe.contracts.governance.v1.AuditEvent event, String at) {
        UUID eventId = Ids.parse(event.getEventId())
                .orElseThrow(() -> ProblemException.invalid(at + "event_id", "event_id must be a UUID"));
        if (!event.hasOccurredAt()) {
            throw ProblemException.invalid(at + "occurred_at", "occurred_at is required");
        }
        Instant occurredAt = ProtoTime.toInstant(event.getOccurredAt()).truncatedTo(ChronoUnit.MICROS);
        String tenant = event.getTenant();
        if (!tenant.isEmpty() && (!TENANT.matcher(tenant).matches() || tenant.equals(AuditEvent.PLATFORM_CHAIN))) {
            throw ProblemException.invalid(at + "tenant", "tenant must be a tenant name, or empty for the platform");
        }
        if (!ACTION.matcher(event.getAction()).matches() || event.getAction().length() > MAX_TEXT) {
            throw ProblemException.invalid(at + "action",
                    "action must be a dotted lower-case name, e.g. dataset.created");
        }
        if (event.getOutcome() == Outcome.OUTCOME_UNSPECIFIED || event.getOutcome() == Outcome.UNRECOGNIZED) {
            throw ProblemException.invalid(at + "outcome", "outcome is required");
        }
        if (event.getResource().getType().isEmpty()) {
            throw ProblemException.invalid(at + "resource.type", "resource.type is required");
        }
        if (event.getSource().isEmpty()) {
            throw ProblemException.invalid(at + "source", "source is required");
        }
        Actor actor = event.getActor().getActor();
        Actor onBehalfOf = event.getActor().getOnBehalfOf();
        if (actor.getUserId().isEmpty() && actor.getService().isEmpty()) {
            throw ProblemException.invalid(at + "actor", "actor needs a user_id or a service");
        }
        String details = canonicalJson(event.getDetails(), at + "details");
        AuditEvent result = new AuditEvent(eventId, occurredAt, tenant, actor.getUserId(), actor.getUsername(),
                actor.getService(), onBehalfOf.getUserId(), onBehalfOf.getUsername(), event.getAction(),
                event.getResource().getType(), event.getResource().getId(), outcomeName(event.getOutcome()),
                event.getRequestId(), details, event.getSource());
        checkLengths(result, at);
        return result;
    }

    private static void checkLengths(AuditEvent event, String at) {
        Map<String, String> texts = Map.of("actor.actor.user_id", event.actorUserId(), "actor.actor.username",
                event.actorUsernameHash(), "actor.actor.service", event.actorService(), "actor.on_behalf_of.user_id",
                event.onBehalfUserId(), "actor.on_behalf_of.username", event.onBehalfUsernameHash(), "resource.type",
                event.resourceType(), "resource.id", event.resourceId(), "request_id", event.requestId(), "source",
                event.source());
        texts.forEach((field, value) -> {
            if (value.length() > MAX_TEXT) {
                throw ProblemException.invalid(at + field, field + " must be at most " + MAX_TEXT + " characters");
            }
        });
    }

    private static String outcomeName(Outcome outcome) {
        return switch (outcome) {
            case OUTCOME_SUCCESS -> "success";
            case OUTCOME_DENIED -> "denied";
            case OUTCOME_FAILED -> "failed";
            default -> throw new IllegalArgumentException("no name for " + outcome);
        };
    }

    /** An entry as the contract shows it. */
    static ChainEntry toProto(AuditEntry entry) {
        AuditEvent event = entry.event();
        return ChainEntry.newBuilder()
                .setChain(entry.chain())
                .setSeq(entry.seq())
                .setPrevHash(entry.prevHash())
                .setHash(entry.hash())
                .setAppendedAt(ProtoTime.of(entry.appendedAt()))
                .setEvent(dev.loupe.contracts.governance.v1.AuditEvent.newBuilder()
                        .setEventId(event.eventId().toString())
                        .setOccurredAt(ProtoTime.of(event.occurredAt()))
                        .setTenant(event.tenant())
                        .setActor(AuditActor.newBuilder()
                                .setActor(Actor.newBuilder()
                                        .setUserId(event.actorUserId())
                                        .setService(event.actorService()))
                                .setOnBehalfOf(Actor.newBuilder().setUserId(event.onBehalfUserId()))
                                .setActorUsernameHash(event.actorUsernameHash())
                                .setOnBehalfUsernameHash(event.onBehalfUsernameHash()))
                        .setAction(event.action())
                        .setResource(ResourceRef.newBuilder().setType(event.resourceType()).setId(event.resourceId()))
                        .setOutcome(outcome(event.outcome()))
                        .setRequestId(event.requestId())
                        .setDetails(detailsStruct(event.details()))
                        .setSource(event.source()))
                .build();
    }

    /** The stored name of an outcome; null for none. */
    static String outcomeFilter(Outcome outcome) {
        return outcome == Outcome.OUTCOME_UNSPECIFIED || outcome == Outcome.UNRECOGNIZED ? null : outcomeName(outcome);
    }

    private static Outcome outcome(String name) {
        return switch (name) {
            case "success" -> Outcome.OUTCOME_SUCCESS;
            case "denied" -> Outcome.OUTCOME_DENIED;
            case "failed" -> Outcome.OUTCOME_FAILED;
            default -> Outcome.OUTCOME_UNSPECIFIED;
        };
    }

    private static Struct detailsStruct(String json) {
        try {
            JsonNode tree = JSON.readTree(json);
            return tree != null && tree.isObject() ? toValue(tree).getStructValue() : Struct.getDefaultInstance();
        } catch (JsonProcessingException e) {
            // Stored details are always JSON written by canonicalJson; a row that is not was tampered with,
            // which verification reports. The listing shows it without details.
            return Struct.getDefaultInstance();
        }
    }

    private static Value toValue(JsonNode node) {
        Value.Builder value = Value.newBuilder();
        if (node.isObject()) {
            Struct.Builder struct = Struct.newBuilder();
            node.fields().forEachRemaining(field -> struct.putFields(field.getKey(), toValue(field.getValue())));
            value.setStructValue(struct);
        } else if (node.isArray()) {
            ListValue.Builder list = ListValue.newBuilder();
            node.forEach(item -> list.addValues(toValue(item)));
            value.setListValue(list);
        } else if (node.isNumber()) {
            value.setNumberValue(node.asDouble());
        } else if (node.isBoolean()) {
            value.setBoolValue(node.asBoolean());
        } else if (node.isTextual()) {
            value.setStringValue(node.asText());
        } else {
            value.setNullValue(NullValue.NULL_VALUE);
        }
        return value.build();
    }

    /** The details as JSON with keys sorted and no spaces: the same details always hash the same. */
    static String canonicalJson(Struct details, String field) {
        try {
            String json = JSON.writeValueAsString(ProtoStructs.toJava(details));
            if (json.length() > MAX_DETAILS_BYTES) {
                throw ProblemException.invalid(field,
                        "details must be at most " + MAX_DETAILS_BYTES + " bytes of JSON");
            }
            return json;
        } catch (JsonProcessingException e) {
            throw ProblemException.invalid(field, "details cannot be written as JSON");
        }
    }
}
