package dev.loupe.governance;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.governance.v1.AuditActor;
import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.contracts.governance.v1.ResourceRef;
import dev.loupe.support.grpc.ProtoTime;

/** Plausible audit events, as a producer's relay sends them. */
final class AuditEventsFixture {
    private AuditEventsFixture() {
    }

    static AuditEvent event(String tenant, int n) {
        return AuditEvent.newBuilder()
                .setEventId(UUID.randomUUID().toString())
                .setOccurredAt(ProtoTime.of(Instant.now()))
                .setTenant(tenant)
                .setActor(AuditActor.newBuilder()
                        .setActor(Actor.newBuilder().setUserId("user-" + n).setUsername(tenant + "-steward")))
                .setAction("dataset.created")
                .setResource(ResourceRef.newBuilder().setType("dataset").setId("ds-" + n))
                .setOutcome(Outcome.OUTCOME_SUCCESS)
                .setRequestId("req-" + n)
                .setDetails(
                        Struct.newBuilder().putFields("name", Value.newBuilder().setStringValue("set-" + n).build()))
                .setSource("dataset-service")
                .build();
    }

    static List<AuditEvent> events(String tenant, int count) {
        List<AuditEvent> events = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            events.add(event(tenant, i));
        }
        return events;
    }

    /** Events as the governance-service stores them, for tests and benchmarks that append without gRPC. */
    static List<dev.loupe.audit.AuditEvent> storedEvents(String tenant, int count) {
        Instant now = Instant.now().truncatedTo(ChronoUnit.MICROS);
        List<dev.loupe.audit.AuditEvent> events = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            events.add(new dev.loupe.audit.AuditEvent(UUID.randomUUID(), now, tenant, "user-" + i,
                    tenant + "-steward", "", "", "", "dataset.image.read", "record", "rec-" + i, "success", "req-" + i,
                    "{\"image\":0}", "dataset-service"));
        }
        return events;
    }

    /** A tenant name no other test uses, so that each test has a chain of its own. */
    static String freshTenant() {
        return "t" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    }
}
