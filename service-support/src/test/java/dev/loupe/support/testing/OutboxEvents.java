package dev.loupe.support.testing;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;

import dev.loupe.contracts.governance.v1.AuditEvent;

/** Reads a service's audit outbox in its tests, where no relay sends the events on. */
public final class OutboxEvents {
    private OutboxEvents() {
    }

    /** The outbox's events about one resource, oldest first. */
    public static List<AuditEvent> about(String jdbcUrl, String user, String password, String resourceId)
            throws Exception {
        List<AuditEvent> events = new ArrayList<>();
        try (Connection connection = DriverManager.getConnection(jdbcUrl, user, password);
                PreparedStatement query = connection.prepareStatement("SELECT payload FROM audit_outbox ORDER BY id");
                ResultSet rows = query.executeQuery()) {
            while (rows.next()) {
                AuditEvent event = AuditEvent.parseFrom(rows.getBytes("payload"));
                if (event.getResource().getId().equals(resourceId)) {
                    events.add(event);
                }
            }
        }
        return events;
    }
}
