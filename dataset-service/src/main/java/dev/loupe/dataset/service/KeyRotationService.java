package dev.loupe.dataset.service;

import java.time.OffsetDateTime;
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
import org.jboss.logging.Logger;

import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.dataset.repository.OutboxRepository;
import dev.loupe.support.audit.AuditEvents;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.id.Ids;
import dev.loupe.support.kms.DataKeys;
import dev.loupe.support.security.Caller;

/**
 * Rotates a dataset's key-encryption key: a new KEK version, every image's data key rewrapped under it, then the
 * minimum decryption version raised to it and the older versions trimmed (deleted for good), so every copy of a
 * wrapping made under them (a backup of the database) can never be unwrapped again. Erasing records relies on
 * this.
 *
 * <p>
 * Imports run meanwhile. The new version is recorded on the dataset row ({@code key_version}) before the rewrap
 * starts, and an import inserts its image rows in a transaction that reads that row {@code FOR SHARE}, rewrapping
 * first any key it wrapped under an older version; so once the rewrap finds no row under an older version, none
 * can appear. An import that was running before the new version existed may still hold keys wrapped under the
 * previous one, which it can rewrap only while that version exists: the older versions are trimmed only when no
 * import of the dataset runs, and otherwise later, by the retention job ({@code key_rotation_due_since}). One
 * rotation of a dataset at a time (a PostgreSQL advisory lock). Blocking: called on worker threads.
 */
@ApplicationScoped
public class KeyRotationService {
    private static final Logger LOG = Logger.getLogger(KeyRotationService.class);
    private static final int PAGE = 500;

    /** What a rotation did. */
    public record Rotated(int keyVersion, long rewrapped, boolean olderVersionsDeleted) {
    }

    private final Pool pool;
    private final DataKeys dataKeys;
    private final OutboxRepository outbox;

    public KeyRotationService(Pool pool, DataKeys dataKeys, OutboxRepository outbox) {
        this.pool = pool;
        this.dataKeys = dataKeys;
        this.outbox = outbox;
    }

    /** A rotation a user asked for; FAILED_PRECONDITION while another rotation of the dataset runs. */
    public Rotated rotate(Caller caller, String datasetId) {
        String tenant = caller.requireTenant();
        UUID id = Ids.parse(datasetId).orElseThrow(() -> ProblemException.notFound("dataset", datasetId));
        boolean exists = pool.preparedQuery("SELECT 1 FROM dataset WHERE id = $1 AND tenant = $2")
                .execute(Tuple.of(id, tenant)).await().indefinitely().rowCount() > 0;
        if (!exists) {
            throw ProblemException.notFound("dataset", datasetId);
        }
        Rotated rotated = rotateLocked(tenant, id, result -> AuditEvents.byCaller(caller, ImportService.SOURCE,
                "dataset.key.rotated", "dataset", datasetId, Outcome.OUTCOME_SUCCESS, details(result)));
        if (rotated == null) {
            throw new ProblemException(ProblemType.CONFLICT, "another rotation of this dataset's key is running; try"
                    + " again when it has finished", "dataset_id");
        }
        return rotated;
    }

    /**
     * The rotation an erasure needs, by the service itself; null when another rotation runs (the erasure's mark
     * stays for the retention job).
     */
    Rotated rotateAfterErasure(String tenant, UUID datasetId) {
        return rotateLocked(tenant, datasetId, result -> AuditEvents.bySystem(ImportService.SOURCE, tenant,
                "dataset.key.rotated", "dataset", datasetId.toString(), Outcome.OUTCOME_SUCCESS, details(result)));
    }

    /**
     * Finishes the rotations that erasures asked for and that a crash, a running import or a failing KMS left;
     * returns how many finished. One dataset's failure does not stop the others.
     */
    public int rotateDue() {
        List<Row> due = new ArrayList<>();
        pool.query("SELECT id, tenant FROM dataset WHERE key_rotation_due_since IS NOT NULL"
                + " ORDER BY key_rotation_due_since LIMIT 100").execute()
                .await().indefinitely().forEach(due::add);
        int finished = 0;
        for (Row row : due) {
            try {
                Rotated rotated = rotateAfterErasure(row.getString("tenant"), row.getUUID("id"));
                if (rotated != null && rotated.olderVersionsDeleted()) {
                    finished++;
                }
            } catch (RuntimeException e) {
                LOG.warnf(e, "Could not yet rotate the key of dataset %s; the next run will try again",
                        row.getUUID("id"));
            }
        }
        return finished;
    }

    /**
     * Takes the dataset's rotation lock (a session advisory lock on a connection held for the rotation) without
     * waiting, and rotates; null when another rotation holds it. Two overlapping rotations could otherwise trim in
     * the wrong order.
     */
    private Rotated rotateLocked(String tenant, UUID datasetId, Function<Rotated, AuditEvent> event) {
        SqlConnection lock = pool.getConnection().await().indefinitely();
        Tuple lockName = Tuple.of("rotation " + datasetId);
        try {
            boolean locked = lock.preparedQuery("SELECT pg_try_advisory_lock(hashtext($1)) AS locked")
                    .execute(lockName).await().indefinitely().iterator().next().getBoolean("locked");
            if (!locked) {
                return null;
            }
            try {
                return rotateHoldingLock(tenant, datasetId, event);
            } finally {
                lock.preparedQuery("SELECT pg_advisory_unlock(hashtext($1))").execute(lockName)
                        .onFailure().recoverWithNull()
                        .await().indefinitely();
            }
        } finally {
            lock.closeAndAwait();
        }
    }

    private Rotated rotateHoldingLock(String tenant, UUID datasetId, Function<Rotated, AuditEvent> event) {
        String keyName = ImportService.datasetKeyName(tenant, datasetId);
        // What the erasures had asked for when this rotation started: only that is cleared at the end.
        Row before = pool.preparedQuery("SELECT key_rotation_due_since FROM dataset WHERE id = $1")
                .execute(Tuple.of(datasetId)).await().indefinitely().iterator().next();
        OffsetDateTime dueSince = before.getOffsetDateTime("key_rotation_due_since");
        int version = dataKeys.rotate(keyName);
        // Waits for the imports inserting rows now (they hold the row FOR SHARE); later ones see the new version.
        boolean stillThere = pool.preparedQuery("UPDATE dataset SET key_version = $2 WHERE id = $1 AND tenant = $3")
                .execute(Tuple.of(datasetId, version, tenant)).await().indefinitely().rowCount() > 0;
        if (!stillThere) {
            // Deleted meanwhile: its shred may have run before the rotation made the key again.
            dataKeys.destroy(keyName);
            throw ProblemException.notFound("dataset", datasetId.toString());
        }
        long rewrapped = rewrapAll(keyName, datasetId, version);
        boolean importRunning = pool.preparedQuery("SELECT 1 FROM dataset_import WHERE dataset_id = $1"
                + " AND state = 'running' LIMIT 1").execute(Tuple.of(datasetId)).await().indefinitely().rowCount() > 0;
        boolean trimmed = false;
        if (!importRunning) {
            dataKeys.setMinDecryptionVersion(keyName, version);
            // Trimmed, not only retired: the minimum is a policy an administrator could lower again.
            dataKeys.trim(keyName, version);
            trimmed = true;
        }
        Rotated rotated = new Rotated(version, rewrapped, trimmed);
        boolean done = trimmed;
        pool.withTransaction(tx -> tx.preparedQuery(done
                ? "UPDATE dataset SET key_rotation_due_since = NULL WHERE id = $1"
                        + " AND key_rotation_due_since IS NOT DISTINCT FROM $2"
                // An import ran: the retention job trims once it has ended.
                : "UPDATE dataset SET key_rotation_due_since = coalesce(key_rotation_due_since, $2) WHERE id = $1")
                .execute(Tuple.of(datasetId, done ? dueSince : OffsetDateTime.now()))
                .chain(() -> outbox.add(tx, event.apply(rotated))))
                .await().indefinitely();
        return rotated;
    }

    /** Rewraps every image key of the dataset not yet under {@code version}, in pages by (record, index). */
    private long rewrapAll(String keyName, UUID datasetId, int version) {
        long rewrapped = 0;
        String current = "v" + version;
        UUID afterRecord = new UUID(0, 0);
        int afterIndex = -1;
        while (true) {
            List<Row> page = new ArrayList<>();
            pool.preparedQuery("SELECT m.record_id, m.index, m.wrapped_key FROM record_image m"
                    + " JOIN dataset_record r ON r.id = m.record_id WHERE r.dataset_id = $1"
                    + " AND (m.record_id, m.index) > ($2, $3) ORDER BY m.record_id, m.index LIMIT $4")
                    .execute(Tuple.of(datasetId, afterRecord, afterIndex, PAGE)).await().indefinitely()
                    .forEach(page::add);
            if (page.isEmpty()) {
                return rewrapped;
            }
            List<Tuple> updates = new ArrayList<>();
            for (Row row : page) {
                String old = row.getString("wrapped_key");
                if (!old.split(":", 3)[1].equals(current)) {
                    updates.add(Tuple.of(row.getUUID("record_id"), row.getInteger("index"), old,
                            dataKeys.rewrap(keyName, old)));
                }
            }
            if (!updates.isEmpty()) {
                // Only rows still holding the wrapping read: a row erased meanwhile stays erased.
                pool.preparedQuery("UPDATE record_image SET wrapped_key = $4 WHERE record_id = $1 AND index = $2"
                        + " AND wrapped_key = $3").executeBatch(updates).await().indefinitely();
                rewrapped += updates.size();
            }
            Row last = page.get(page.size() - 1);
            afterRecord = last.getUUID("record_id");
            afterIndex = last.getInteger("index");
        }
    }

    private static Map<String, Object> details(Rotated rotated) {
        return Map.of("key_version", rotated.keyVersion(), "data_keys_rewrapped", rotated.rewrapped(),
                "older_versions_deleted", rotated.olderVersionsDeleted());
    }
}
