package dev.loupe.support.audit;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;

import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.governance.v1.AuditActor;
import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.contracts.governance.v1.ResourceRef;
import dev.loupe.support.grpc.ProtoTime;
import dev.loupe.support.id.Ids;
import dev.loupe.support.security.Caller;

/**
 * Builds the audit events services record. Details are small facts (names, counts, ids); never secrets, image
 * bytes, prompts or tokens.
 */
public final class AuditEvents {
    private AuditEvents() {
    }

    /**
     * An event about something the caller did in their tenant.
     *
     * @param source the producing service, e.g. {@code dataset-service}
     * @param details small values: strings, numbers, booleans, lists or maps of them
     */
    public static AuditEvent byCaller(Caller caller, String source, String action, String resourceType,
            String resourceId, Outcome outcome, Map<String, ?> details) {
        return AuditEvent.newBuilder()
                .setEventId(Ids.newId().toString())
                .setOccurredAt(ProtoTime.of(Instant.now().truncatedTo(ChronoUnit.MICROS)))
                .setTenant(caller.tenant().orElse(""))
                .setActor(AuditActor.newBuilder()
                        .setActor(Actor.newBuilder().setUserId(caller.userId()).setUsername(caller.username())))
                .setAction(action)
                .setResource(ResourceRef.newBuilder().setType(resourceType).setId(resourceId))
                .setOutcome(outcome)
                .setRequestId(caller.requestId())
                .setDetails(struct(details))
                .setSource(source)
                .build();
    }

    /**
     * An event about something a service did for a tenant on a user's behalf (a training job reading its
     * examples): the actor is the service's account, {@code onBehalfOf} the user who started the work.
     */
    public static AuditEvent onBehalfOf(Caller service, String tenant, Actor onBehalfOf, String source,
            String action, String resourceType, String resourceId, Outcome outcome, Map<String, ?> details) {
        return byCaller(service, source, action, resourceType, resourceId, outcome, details).toBuilder()
                .setTenant(tenant)
                .setActor(AuditActor.newBuilder()
                        .setActor(Actor.newBuilder().setUserId(service.userId()).setService(service.clientId()))
                        .setOnBehalfOf(onBehalfOf))
                .build();
    }

    /**
     * An event about something a service did by itself in a tenant (a scheduled job, a recovery at start-up):
     * the actor is the service named by {@code source}, with no user.
     */
    public static AuditEvent bySystem(String source, String tenant, String action, String resourceType,
            String resourceId, Outcome outcome, Map<String, ?> details) {
        return AuditEvent.newBuilder()
                .setEventId(Ids.newId().toString())
                .setOccurredAt(ProtoTime.of(Instant.now().truncatedTo(ChronoUnit.MICROS)))
                .setTenant(tenant)
                .setActor(AuditActor.newBuilder().setActor(Actor.newBuilder().setService(source)))
                .setAction(action)
                .setResource(ResourceRef.newBuilder().setType(resourceType).setId(resourceId))
                .setOutcome(outcome)
                .setDetails(struct(details))
                .setSource(source)
                .build();
    }

    public static Struct struct(Map<String, ?> details) {
        Struct.Builder struct = Struct.newBuilder();
        details.forEach((key, value) -> struct.putFields(key, value(value)));
        return struct.build();
    }

    private static Value value(Object value) {
        Value.Builder built = Value.newBuilder();
        if (value == null) {
            built.setNullValue(NullValue.NULL_VALUE);
        } else if (value instanceof Boolean bool) {
            built.setBoolValue(bool);
        } else if (value instanceof Number number) {
            built.setNumberValue(number.doubleValue());
        } else if (value instanceof Map<?, ?> map) {
            Struct.Builder struct = Struct.newBuilder();
            map.forEach((key, item) -> struct.putFields(String.valueOf(key), value(item)));
            built.setStructValue(struct);
        } else if (value instanceof Iterable<?> items) {
            ListValue.Builder list = ListValue.newBuilder();
            items.forEach(item -> list.addValues(value(item)));
            built.setListValue(list);
        } else {
            built.setStringValue(value.toString());
        }
        return built.build();
    }
}
