package dev.loupe.dataset.service;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;

import jakarta.enterprise.context.ApplicationScoped;

import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.dataset.repository.OutboxRepository;
import dev.loupe.support.audit.AuditEvents;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.id.Ids;
import dev.loupe.support.kms.DataKeys;
import dev.loupe.support.security.Caller;

/**
 * Rotates a dataset's key-encryption key: a new KEK version, every image's data key rewrapped under it, then the
 * minimum decryption version raised to it and the older versions trimmed (deleted for good), so every copy of a
 * wrapping made under them (a backup of the database) can never be unwrapped again. Erasing records relies on this.
 *
 * <p>
 * Imports run meanwhile. The new version is recorded on the dataset row ({@code key_version}) before the rewrap
 * starts, and an import inserts its image rows in a transaction that reads that row {@code FOR SHARE}, rewrapping
 * first any key it wrapped under an older version. So once the rewrap finds no row under an older version, none
 * can appear, and raising the minimum loses nothing. Blocking: called on worker threads.
 */
@ApplicationScoped
public class KeyRotationService {
    private static final int PAGE = 500;

    /** What a rotation did. */
    public record Rotated(int keyVersion, long rewrapped) {
    }

    private final Pool pool;
    private final DataKeys dataKeys;
    private final OutboxRepository outbox;

    public KeyRotationService(Pool pool, DataKeys dataKeys, OutboxRepository outbox) {
        this.pool = pool;
        this.dataKeys = dataKeys;
        this.outbox = outbox;
    }

    /** A rotation a user asked for. */
    public Rotated rotate(Caller caller, String datasetId) {
        String tenant = caller.requireTenant();
        UUID id = Ids.parse(datasetId).orElseThrow(() -> ProblemException.notFound("dataset", datasetId));
        boolean exists = pool.preparedQuery("SELECT 1 FROM dataset WHERE id = $1 AND tenant = $2")
                .execute(Tuple.of(id, tenant)).await().indefinitely().rowCount() > 0;
        if (!exists) {
            throw ProblemException.notFound("dataset", datasetId);
        }
        return rotate(tenant, id, rotated -> AuditEvents.byCaller(caller, ImportService.SOURCE,
                "dataset.key.rotated", "dataset", datasetId, Outcome.OUTCOME_SUCCESS, details(rotated)));
    }

    /** A rotation the service does by itself (after an erasure). */
    public Rotated rotate(String tenant, UUID datasetId) {
        return rotate(tenant, datasetId, rotated -> AuditEvents.bySystem(ImportService.SOURCE, tenant,
                "dataset.key.rotated", "dataset", datasetId.toString(), Outcome.OUTCOME_SUCCESS, details(rotated)));
    }

    /** Finishes the rotations that erasures asked for and a crash or failure left; returns how many. */
    public int rotateDue() {
        List<Row> due = new ArrayList<>();
        pool.query("SELECT id, tenant FROM dataset WHERE key_rotation_due LIMIT 100").execute()
                .await().indefinitely().forEach(due::add);
        for (Row row : due) {
            rotate(row.getString("tenant"), row.getUUID("id"));
        }
        return due.size();
    }

    /**
     * One rotation of a dataset at a time, across every instance of the service: a session advisory lock on a
     * connection held for the rotation. Two overlapping rotations could otherwise raise the minimum in the wrong
     * order.
     */
    private Rotated rotate(String tenant, UUID datasetId, Function<Rotated, AuditEvent> event) {
        SqlConnection lock = pool.getConnection().await().indefinitely();
        try {
            lock.preparedQuery("SELECT pg_advisory_lock(hashtext($1))").execute(Tuple.of("rotation " + datasetId))
                    .await().indefinitely();
            return rotateLocked(tenant, datasetId, event);
        } finally {
            // Closing the connection returns it to the pool; the lock is released first, it is a session's.
            lock.preparedQuery("SELECT pg_advisory_unlock(hashtext($1))").execute(Tuple.of("rotation " + datasetId))
                    .onFailure().recoverWithNull()
                    .await().indefinitely();
            lock.closeAndAwait();
        }
    }

    private Rotated rotateLocked(String tenant, UUID datasetId, Function<Rotated, AuditEvent> event) {
        String keyName = ImportService.datasetKeyName(tenant, datasetId);
        int version = dataKeys.rotate(keyName);
        // Waits for the imports inserting rows now (they hold the row FOR SHARE); later ones see the new version.
        pool.preparedQuery("UPDATE dataset SET key_version = $2 WHERE id = $1 AND key_version < $2")
                .execute(Tuple.of(datasetId, version)).await().indefinitely();
        long rewrapped = 0;
        String stale = "v" + version;
        while (true) {
            List<Row> page = new ArrayList<>();
            pool.preparedQuery("SELECT m.record_id, m.index, m.wrapped_key FROM record_image m"
                    + " JOIN dataset_record r ON r.id = m.record_id WHERE r.dataset_id = $1"
                    + " AND split_part(m.wrapped_key, ':', 2) <> $2 LIMIT $3")
                    .execute(Tuple.of(datasetId, stale, PAGE)).await().indefinitely().forEach(page::add);
            if (page.isEmpty()) {
                break;
            }
            List<Tuple> updates = new ArrayList<>(page.size());
            for (Row row : page) {
                String old = row.getString("wrapped_key");
                updates.add(Tuple.of(row.getUUID("record_id"), row.getInteger("index"), old,
                        dataKeys.rewrap(keyName, old)));
            }
            // Only rows still holding the wrapping read: a row erased meanwhile stays erased.
            pool.preparedQuery("UPDATE record_image SET wrapped_key = $4 WHERE record_id = $1 AND index = $2"
                    + " AND wrapped_key = $3").executeBatch(updates).await().indefinitely();
            rewrapped += updates.size();
        }
        dataKeys.setMinDecryptionVersion(keyName, version);
        // Trimmed, not only retired: the minimum is a policy an administrator could lower again.
        dataKeys.trim(keyName, version);
        Rotated rotated = new Rotated(version, rewrapped);
        pool.withTransaction(tx -> tx.preparedQuery("UPDATE dataset SET key_rotation_due = false WHERE id = $1")
                .execute(Tuple.of(datasetId))
                .chain(() -> outbox.add(tx, event.apply(rotated))))
                .await().indefinitely();
        return rotated;
    }

    private static Map<String, Object> details(Rotated rotated) {
        return Map.of("key_version", rotated.keyVersion(), "data_keys_rewrapped", rotated.rewrapped());
    }
}
