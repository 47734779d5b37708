package dev.loupe.governance.repository;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.SqlClient;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.loupe.audit.AuditEntry;
import dev.loupe.audit.AuditEvent;
import dev.loupe.audit.ChainHash;

/**
 * SQL over the audit tables. Methods take the connection (or pool) to run on, so that one transaction can span
 * several of them; nothing here updates or deletes an entry.
 */
@ApplicationScoped
public class AuditChainRepository {

    /** The last sequence number and hash of a chain (0 and the genesis hash for a chain with no entry). */
    public record Head(long seq, String hash) {
    }

    private static final String COLUMNS = "chain, seq, event_id, occurred_at, tenant, actor_user_id, actor_username,"
            + " actor_service, on_behalf_user_id, on_behalf_username, action, resource_type, resource_id, outcome,"
            + " request_id, details, source, appended_at, prev_hash, hash";

    /** Locks a chain's head row until the transaction ends, creating it for a new chain. */
    public Uni<Head> lockHead(SqlClient transaction, String chain) {
        // One round trip for a chain that exists (the usual case); a new chain's row is created first.
        return selectHeadForUpdate(transaction, chain).chain(head -> head != null
                ? Uni.createFrom().item(head)
                : transaction
                        .preparedQuery("INSERT INTO audit_chain_head (chain, seq, hash) VALUES ($1, 0, $2)"
                                + " ON CONFLICT DO NOTHING")
                        .execute(Tuple.of(chain, ChainHash.GENESIS))
                        .chain(() -> selectHeadForUpdate(transaction, chain)));
    }

    private Uni<Head> selectHeadForUpdate(SqlClient transaction, String chain) {
        return transaction.preparedQuery("SELECT seq, hash FROM audit_chain_head WHERE chain = $1 FOR UPDATE")
                .execute(Tuple.of(chain))
                .map(rows -> rows.rowCount() == 0
                        ? null
                        : new Head(rows.iterator().next().getLong("seq"), rows.iterator().next().getString("hash")));
    }

    public Uni<Head> head(SqlClient client, String chain) {
        return client.preparedQuery("SELECT seq, hash FROM audit_chain_head WHERE chain = $1")
                .execute(Tuple.of(chain))
                .map(rows -> rows.rowCount() == 0
                        ? new Head(0, ChainHash.GENESIS)
                        : new Head(rows.iterator().next().getLong("seq"), rows.iterator().next().getString("hash")));
    }

    public Uni<Void> moveHead(SqlClient transaction, String chain, Head head) {
        return transaction.preparedQuery("UPDATE audit_chain_head SET seq = $2, hash = $3 WHERE chain = $1")
                .execute(Tuple.of(chain, head.seq(), head.hash()))
                .replaceWithVoid();
    }

    /** Which of these event ids are already in the trail. */
    public Uni<Set<UUID>> existingEventIds(SqlClient client, List<UUID> eventIds) {
        return client.preparedQuery("SELECT event_id FROM audit_entry WHERE event_id = ANY($1)")
                .execute(Tuple.of(eventIds.toArray(UUID[]::new)))
                .map(rows -> {
                    Set<UUID> found = new HashSet<>();
                    rows.forEach(row -> found.add(row.getUUID("event_id")));
                    return found;
                });
    }

    /**
     * Inserts entries, skipping any whose event id is already in the trail.
     *
     * @return how many were inserted
     */
    public Uni<Integer> insertNew(SqlClient transaction, List<AuditEntry> entries) {
        if (entries.isEmpty()) {
            return Uni.createFrom().item(0);
        }
        List<Tuple> rows = new ArrayList<>(entries.size());
        for (AuditEntry entry : entries) {
            AuditEvent event = entry.event();
            rows.add(Tuple.from(List.of(entry.chain(), entry.seq(), event.eventId(), utc(event.occurredAt()),
                    event.tenant(), event.actorUserId(), event.actorUsername(), event.actorService(),
                    event.onBehalfUserId(), event.onBehalfUsername(), event.action(), event.resourceType(),
                    event.resourceId(), event.outcome(), event.requestId(), event.details(), event.source(),
                    utc(entry.appendedAt()), entry.prevHash(), entry.hash())));
        }
        return transaction.preparedQuery("INSERT INTO audit_entry (" + COLUMNS + ") VALUES ($1, $2, $3, $4, $5, $6, $7,"
                + " $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
                + " ON CONFLICT ON CONSTRAINT audit_entry_event_once DO NOTHING")
                .executeBatch(rows)
                .map(results -> {
                    int inserted = 0;
                    for (var result = results; result != null; result = result.next()) {
                        inserted += result.rowCount();
                    }
                    return inserted;
                });
    }

    /** Entries of a chain with {@code fromSeq <= seq <= toSeq}, in sequence order, at most {@code limit}. */
    public Uni<List<AuditEntry>> read(SqlClient client, String chain, long fromSeq, long toSeq, int limit) {
        return client.preparedQuery("SELECT " + COLUMNS + " FROM audit_entry WHERE chain = $1 AND seq BETWEEN $2 AND $3"
                + " ORDER BY seq LIMIT $4")
                .execute(Tuple.of(chain, fromSeq, toSeq, limit))
                .map(rows -> {
                    List<AuditEntry> entries = new ArrayList<>(rows.rowCount());
                    rows.forEach(row -> entries.add(toEntry(row)));
                    return entries;
                });
    }

    private static AuditEntry toEntry(Row row) {
        AuditEvent event = new AuditEvent(row.getUUID("event_id"), row.getOffsetDateTime("occurred_at").toInstant(),
                row.getString("tenant"), row.getString("actor_user_id"), row.getString("actor_username"),
                row.getString("actor_service"), row.getString("on_behalf_user_id"), row.getString("on_behalf_username"),
                row.getString("action"), row.getString("resource_type"), row.getString("resource_id"),
                row.getString("outcome"), row.getString("request_id"), row.getString("details"),
                row.getString("source"));
        return new AuditEntry(row.getString("chain"), row.getLong("seq"), event,
                row.getOffsetDateTime("appended_at").toInstant(), row.getString("prev_hash"), row.getString("hash"));
    }

    private static OffsetDateTime utc(Instant instant) {
        return OffsetDateTime.ofInstant(instant, ZoneOffset.UTC);
    }
}
