package dev.loupe.training.repository;

import jakarta.enterprise.context.ApplicationScoped;

import io.quarkus.hibernate.reactive.panache.Panache;
import io.smallrye.mutiny.Uni;

import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.support.audit.AuditOutbox;

/** Writes audit events into the outbox, inside the Hibernate transaction of the change they describe. */
@ApplicationScoped
public class OutboxRepository {

    /** Must run inside the transaction of the change the event describes. */
    public Uni<Void> add(AuditEvent event) {
        return Panache.getSession()
                .chain(session -> session.createNativeQuery(AuditOutbox.INSERT_NATIVE)
                        .setParameter(1, AuditOutbox.eventId(event))
                        .setParameter(2, AuditOutbox.payload(event))
                        .executeUpdate())
                .replaceWithVoid();
    }
}
