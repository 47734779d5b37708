package dev.loupe.governance.grpc;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import dev.loupe.audit.AuditEvent;
import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.support.error.ProblemException;
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
                event.actorUsername(), "actor.actor.service", event.actorService(), "actor.on_behalf_of.user_id",
                event.onBehalfUserId(), "actor.on_behalf_of.username", event.onBehalfUsername(), "resource.type",
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

    /** The details as JSON with keys sorted and no spaces: the same details always hash the same. */
    static String canonicalJson(Struct details, String field) {
        try {
            String json = JSON.writeValueAsString(toJava(Value.newBuilder().setStructValue(details).build()));
            if (json.length() > MAX_DETAILS_BYTES) {
                throw ProblemException.invalid(field,
                        "details must be at most " + MAX_DETAILS_BYTES + " bytes of JSON");
            }
            return json;
        } catch (JsonProcessingException e) {
            throw ProblemException.invalid(field, "details cannot be written as JSON");
        }
    }

    private static Object toJava(Value value) {
        return switch (value.getKindCase()) {
            case NULL_VALUE, KIND_NOT_SET -> null;
            case BOOL_VALUE -> value.getBoolValue();
            case NUMBER_VALUE -> value.getNumberValue();
            case STRING_VALUE -> value.getStringValue();
            case LIST_VALUE -> value.getListValue().getValuesList().stream().map(AuditEvents::toJava).toList();
            case STRUCT_VALUE -> {
                Map<String, Object> sorted = new TreeMap<>();
                value.getStructValue().getFieldsMap().forEach((key, field) -> sorted.put(key, toJava(field)));
                yield sorted;
            }
        };
    }
}
