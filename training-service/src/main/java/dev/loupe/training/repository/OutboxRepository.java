package dev.loupe.training.repository;

import jakarta.enterprise.context.ApplicationScoped;

import io.quarkus.hibernate.reactive.panache.Panache;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.SqlClient;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.support.audit.AuditOutbox;

/** Writes audit events into the outbox, inside the transaction (Hibernate's or the SQL client's) of the change they describe. */
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

    /** The same on the SQL client's transaction (jobs are written with the SQL client, not Hibernate). */
    public Uni<Void> add(SqlClient client, AuditEvent event) {
        return client.preparedQuery(AuditOutbox.INSERT)
                .execute(Tuple.of(AuditOutbox.eventId(event), AuditOutbox.payload(event)))
                .replaceWithVoid();
    }
}
