package dev.loupe.support.audit;

import java.util.UUID;

import dev.loupe.contracts.governance.v1.AuditEvent;

/**
 * How a service writes an audit event into its outbox table ({@code db/audit-outbox}), inside the transaction
 * of the change it describes: if the change commits, the event is there for the relay; if it rolls back, so
 * does the event. The statement is plain SQL with positional parameters so that any client runs it.
 */
public final class AuditOutbox {
    /** Parameters: {@link #eventId(AuditEvent)} and {@link #payload(AuditEvent)}. Hibernate's native SQL form. */
    public static final String INSERT_NATIVE = "INSERT INTO audit_outbox (event_id, payload) VALUES (?1, ?2)";
    /** The same statement in the Vert.x SQL client's form. */
    public static final String INSERT = "INSERT INTO audit_outbox (event_id, payload) VALUES ($1, $2)";

    private AuditOutbox() {
    }

    public static UUID eventId(AuditEvent event) {
        return UUID.fromString(event.getEventId());
    }

    public static byte[] payload(AuditEvent event) {
        return event.toByteArray();
    }
}
