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

    /**
     * What to look for in a chain; null or empty fields do not filter.
     *
     * @param actor matches the acting user's id, the service's client id, or the id of the user a service
     *        acted for
     * @param actorHashes the keyed hashes of {@code actor} (one per key version): matches entries where the
     *        acting user or the user a service acted for had it as username, or the client had it as address. An
     *        entry matches {@code actor} or one of these.
     */
    public record EventFilter(Instant from, Instant to, String actionPrefix, String actor, List<String> actorHashes,
            String resourceType, String resourceId, String outcome) {
    }

    /** The last sequence number and hash of a chain (0 and the genesis hash for a chain with no entry). */
    public record Head(long seq, String hash) {
    }

    private static final String COLUMNS = "chain, seq, event_id, occurred_at, tenant, actor_user_id,"
            + " actor_username_hash, actor_service, on_behalf_user_id, on_behalf_username_hash, action, resource_type, resource_id, outcome,"
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
                    event.tenant(), event.actorUserId(), event.actorUsernameHash(), event.actorService(),
                    event.onBehalfUserId(), event.onBehalfUsernameHash(), event.action(), event.resourceType(),
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

    /**
     * A page of a chain's entries matching the filter, in sequence order (newest first if asked).
     *
     * @param afterSeq continue after this sequence number (0: from the start, or the head when newest first)
     */
    public Uni<List<AuditEntry>> search(SqlClient client, String chain, EventFilter filter, long afterSeq,
            boolean newestFirst, int limit) {
        List<Object> parameters = new ArrayList<>(List.of(chain));
        StringBuilder where = new StringBuilder("chain = $1");
        if (afterSeq > 0) {
            parameters.add(afterSeq);
            where.append(newestFirst ? " AND seq < $" : " AND seq > $").append(parameters.size());
        }
        if (filter.from() != null) {
            parameters.add(utc(filter.from()));
            where.append(" AND occurred_at >= $").append(parameters.size());
        }
        if (filter.to() != null) {
            parameters.add(utc(filter.to()));
            where.append(" AND occurred_at < $").append(parameters.size());
        }
        if (present(filter.actionPrefix())) {
            // A prefix compared as text, so that LIKE's wildcards in it mean nothing.
            parameters.add(filter.actionPrefix());
            where.append(" AND left(action, length($").append(parameters.size()).append(")) = $")
                    .append(parameters.size());
        }
        if (present(filter.actor())) {
            parameters.add(filter.actor());
            where.append(" AND ($").append(parameters.size())
                    .append(" IN (actor_user_id, actor_service, on_behalf_user_id)");
            if (!filter.actorHashes().isEmpty()) {
                parameters.add(filter.actorHashes().toArray(String[]::new));
                int n = parameters.size();
                where.append(" OR actor_username_hash = ANY($").append(n)
                        .append(") OR on_behalf_username_hash = ANY($").append(n)
                        .append(") OR details::jsonb ->> 'client_address_hash' = ANY($").append(n).append(")");
            }
            where.append(")");
        }
        if (present(filter.resourceType())) {
            parameters.add(filter.resourceType());
            where.append(" AND resource_type = $").append(parameters.size());
        }
        if (present(filter.resourceId())) {
            parameters.add(filter.resourceId());
            where.append(" AND resource_id = $").append(parameters.size());
        }
        if (present(filter.outcome())) {
            parameters.add(filter.outcome());
            where.append(" AND outcome = $").append(parameters.size());
        }
        parameters.add(limit);
        String sql = "SELECT " + COLUMNS + " FROM audit_entry WHERE " + where + " ORDER BY seq"
                + (newestFirst ? " DESC" : "") + " LIMIT $" + parameters.size();
        return client.preparedQuery(sql).execute(Tuple.from(parameters)).map(rows -> {
            List<AuditEntry> entries = new ArrayList<>(rows.rowCount());
            rows.forEach(row -> entries.add(toEntry(row)));
            return entries;
        });
    }

    /** Sequence numbers of the first and last entries appended in {@code [from, to)}; null when there is none. */
    public Uni<long[]> seqRangeAppended(SqlClient client, String chain, Instant from, Instant to) {
        return client.preparedQuery("SELECT min(seq) AS first, max(seq) AS last FROM audit_entry WHERE chain = $1"
                + " AND appended_at >= $2 AND appended_at < $3")
                .execute(Tuple.of(chain, utc(from), utc(to)))
                .map(rows -> {
                    Row row = rows.iterator().next();
                    return row.getLong("first") == null ? null : new long[]{row.getLong("first"), row.getLong("last")};
                });
    }

    private static boolean present(String value) {
        return value != null && !value.isEmpty();
    }

    private static AuditEntry toEntry(Row row) {
        AuditEvent event = new AuditEvent(row.getUUID("event_id"), row.getOffsetDateTime("occurred_at").toInstant(),
                row.getString("tenant"), row.getString("actor_user_id"), row.getString("actor_username_hash"),
                row.getString("actor_service"), row.getString("on_behalf_user_id"),
                row.getString("on_behalf_username_hash"),
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
