package dev.loupe.dataset.service;

import java.io.IOException;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.SqlClient;
import io.vertx.mutiny.sqlclient.Tuple;
import org.jboss.logging.Logger;

import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.dataset.repository.OutboxRepository;
import dev.loupe.dataset.storage.BlobStore;
import dev.loupe.support.audit.AuditEvents;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.id.Ids;
import dev.loupe.support.kms.DataKeys;
import dev.loupe.support.security.Caller;

/**
 * What happens to a dataset over its life once it holds data: its retention policy and legal hold, its deletion
 * (by request or by expiry) and crypto-shredding, and the erasure of single records. The methods that call the KMS
 * or the blob store block (the gRPC layer runs them on worker threads); the others answer a {@link Uni}.
 *
 * <p>
 * A deletion commits the dataset's removal, a row in {@code dataset_shred} and its audit event in one
 * transaction; destroying the KEK and the blobs follows, and the shred row goes only once both are gone. A crash
 * in between leaves the row for {@link #shredPending()}, which the retention job runs, so an acknowledged deletion
 * is never forgotten. A legal hold refuses all of these, whoever asks, and the refusal is audited too.
 */
@ApplicationScoped
public class RetentionService {
    private static final Logger LOG = Logger.getLogger(RetentionService.class);
    static final int MAX_RETENTION_DAYS = 36_500;
    static final int MAX_HOLD_REASON = 1000;
    static final int MAX_ERASED_PER_CALL = 1000;

    /** What an erasure did. */
    public record Erased(long records, long images, List<String> recordHashes) {
    }

    private final Pool pool;
    private final DataKeys dataKeys;
    private final BlobStore blobs;
    private final OutboxRepository outbox;
    private final KeyRotationService rotation;

    public RetentionService(Pool pool, DataKeys dataKeys, BlobStore blobs, OutboxRepository outbox,
            KeyRotationService rotation) {
        this.pool = pool;
        this.dataKeys = dataKeys;
        this.blobs = blobs;
        this.outbox = outbox;
        this.rotation = rotation;
    }

    /** Sets (1 to 36,500 days) or removes (0) the dataset's maximum age. */
    public Uni<Void> setRetention(Caller caller, String datasetId, int maxAgeDays) {
        if (maxAgeDays < 0 || maxAgeDays > MAX_RETENTION_DAYS) {
            throw ProblemException.invalid("max_age_days",
                    "max_age_days must be 0 (keep until deleted) or 1 to " + MAX_RETENTION_DAYS);
        }
        String tenant = caller.requireTenant();
        UUID id = datasetIdOf(datasetId);
        Integer days = maxAgeDays == 0 ? null : maxAgeDays;
        return pool.withTransaction(tx -> tx
                .preparedQuery("UPDATE dataset SET retention_max_age_days = $3, updated_at = $4"
                        + " WHERE id = $1 AND tenant = $2")
                .execute(Tuple.from(Arrays.asList(id, tenant, days, now())))
                .chain(rows -> {
                    requireFound(rows.rowCount(), datasetId);
                    return outbox.add(tx, AuditEvents.byCaller(caller, ImportService.SOURCE,
                            "dataset.retention.set", "dataset", datasetId, Outcome.OUTCOME_SUCCESS,
                            Map.of("max_age_days", maxAgeDays)));
                }));
    }

    public Uni<Void> placeLegalHold(Caller caller, String datasetId, String reason) {
        if (reason.isBlank() || reason.length() > MAX_HOLD_REASON) {
            throw ProblemException.invalid("reason", "reason is required: 1 to " + MAX_HOLD_REASON + " characters");
        }
        String tenant = caller.requireTenant();
        UUID id = datasetIdOf(datasetId);
        return pool.withTransaction(tx -> lock(tx, tenant, id, datasetId).chain(held -> {
            if (held != null) {
                throw new ProblemException(ProblemType.CONFLICT,
                        "the dataset is already under legal hold (" + held + ")", "dataset_id");
            }
            return tx.preparedQuery("UPDATE dataset SET legal_hold_reason = $2, legal_hold_placed_at = $3,"
                    + " legal_hold_placed_by_user_id = $4, legal_hold_placed_by_username = $5, updated_at = $3"
                    + " WHERE id = $1")
                    .execute(Tuple.of(id, reason, now(), caller.userId(), caller.username()))
                    .chain(() -> outbox.add(tx, AuditEvents.byCaller(caller, ImportService.SOURCE,
                            "dataset.legal_hold.placed", "dataset", datasetId, Outcome.OUTCOME_SUCCESS,
                            Map.of("reason", reason))));
        }));
    }

    public Uni<Void> releaseLegalHold(Caller caller, String datasetId) {
        String tenant = caller.requireTenant();
        UUID id = datasetIdOf(datasetId);
        return pool.withTransaction(tx -> lock(tx, tenant, id, datasetId).chain(held -> {
            if (held == null) {
                throw new ProblemException(ProblemType.CONFLICT, "the dataset is not under legal hold", "dataset_id");
            }
            return tx.preparedQuery("UPDATE dataset SET legal_hold_reason = NULL, legal_hold_placed_at = NULL,"
                    + " legal_hold_placed_by_user_id = NULL, legal_hold_placed_by_username = NULL, updated_at = $2"
                    + " WHERE id = $1")
                    .execute(Tuple.of(id, now()))
                    .chain(() -> outbox.add(tx, AuditEvents.byCaller(caller, ImportService.SOURCE,
                            "dataset.legal_hold.released", "dataset", datasetId, Outcome.OUTCOME_SUCCESS,
                            Map.of("reason", held))));
        }));
    }

    /** Deletes a dataset and crypto-shreds it; refused under legal hold. */
    public void delete(Caller caller, String datasetId) {
        String tenant = caller.requireTenant();
        UUID id = datasetIdOf(datasetId);
        String held = pool.withTransaction(tx -> lock(tx, tenant, id, datasetId).chain(hold -> hold != null
                ? Uni.createFrom().item(hold)
                : remove(tx, tenant, id, "deleted", AuditEvents.byCaller(caller, ImportService.SOURCE,
                        "dataset.deleted", "dataset", datasetId, Outcome.OUTCOME_SUCCESS, Map.of()))
                        .replaceWith((String) null)))
                .await().indefinitely();
        if (held != null) {
            refuseHeld(AuditEvents.byCaller(caller, ImportService.SOURCE, "dataset.deleted", "dataset", datasetId,
                    Outcome.OUTCOME_DENIED, Map.of("refused_by", "legal_hold")), held);
        }
        shred(tenant, id, "deleted");
    }

    /**
     * Deletes and crypto-shreds the datasets whose maximum age has passed, except those under legal hold (which
     * expire once released). Returns how many it deleted.
     */
    public int expireDue() {
        List<Row> due = new ArrayList<>();
        pool.preparedQuery("SELECT id, tenant FROM dataset WHERE retention_max_age_days IS NOT NULL"
                + " AND legal_hold_reason IS NULL AND created_at + make_interval(days => retention_max_age_days) <= $1"
                + " ORDER BY created_at LIMIT 100")
                .execute(Tuple.of(now()))
                .await().indefinitely()
                .forEach(due::add);
        int expired = 0;
        for (Row row : due) {
            UUID id = row.getUUID("id");
            String tenant = row.getString("tenant");
            // Checked again under the row lock: a hold placed or a policy changed since the query wins.
            boolean deleted = pool.withTransaction(tx -> tx.preparedQuery("SELECT 1 FROM dataset WHERE id = $1"
                    + " AND legal_hold_reason IS NULL AND retention_max_age_days IS NOT NULL"
                    + " AND created_at + make_interval(days => retention_max_age_days) <= $2 FOR UPDATE")
                    .execute(Tuple.of(id, now()))
                    .chain(rows -> rows.rowCount() == 0
                            ? Uni.createFrom().item(false)
                            : remove(tx, tenant, id, "expired", AuditEvents.bySystem(ImportService.SOURCE, tenant,
                                    "dataset.expired", "dataset", id.toString(), Outcome.OUTCOME_SUCCESS,
                                    Map.of("reason", "retention policy"))).replaceWith(true)))
                    .await().indefinitely();
            if (deleted) {
                expired++;
                shred(tenant, id, "expired");
            }
        }
        return expired;
    }

    /** Finishes the shreds a crash or a failure left; returns how many it finished. */
    public int shredPending() {
        List<Row> pending = new ArrayList<>();
        pool.query("SELECT dataset_id, tenant, reason FROM dataset_shred ORDER BY requested_at LIMIT 100")
                .execute()
                .await().indefinitely()
                .forEach(pending::add);
        int done = 0;
        for (Row row : pending) {
            if (shred(row.getString("tenant"), row.getUUID("dataset_id"), row.getString("reason"))) {
                done++;
            }
        }
        return done;
    }

    /**
     * Erases records of a dataset: their rows (and their places in versions) go in one transaction with the audit
     * event and the mark that the dataset's key must rotate; then their blobs go, and the key rotates so that no
     * copy of their wrapped data keys taken before can be unwrapped (at once, or by the retention job when an
     * import of the dataset runs or the KMS fails).
     */
    public Erased eraseRecords(Caller caller, String datasetId, List<String> recordIds, String erasureRequestId) {
        if (recordIds.isEmpty() || recordIds.size() > MAX_ERASED_PER_CALL) {
            throw ProblemException.invalid("record_ids", "record_ids must list 1 to " + MAX_ERASED_PER_CALL
                    + " records (a whole dataset is deleted instead)");
        }
        String tenant = caller.requireTenant();
        UUID id = datasetIdOf(datasetId);
        Set<UUID> ids = new LinkedHashSet<>();
        for (int i = 0; i < recordIds.size(); i++) {
            String recordId = recordIds.get(i);
            ids.add(Ids.parse(recordId).orElseThrow(() -> ProblemException.notFound("record", recordId)));
        }
        UUID[] wanted = ids.toArray(UUID[]::new);
        List<String> blobKeys = new ArrayList<>();
        List<String> hashes = new ArrayList<>();
        String held = pool.withTransaction(tx -> lock(tx, tenant, id, datasetId).chain(hold -> {
            if (hold != null) {
                return Uni.createFrom().item(hold);
            }
            return tx.preparedQuery("SELECT r.id, r.record_hash, array_remove(array_agg(m.blob_key), NULL) AS blobs"
                    + " FROM dataset_record r JOIN dataset_import i ON i.id = r.import_id AND i.state = 'succeeded'"
                    + " LEFT JOIN record_image m ON m.record_id = r.id"
                    + " WHERE r.dataset_id = $1 AND r.id = ANY($2) GROUP BY r.id, r.record_hash")
                    .execute(Tuple.of(id, wanted))
                    .chain(rows -> {
                        Set<UUID> found = new LinkedHashSet<>();
                        rows.forEach(row -> {
                            found.add(row.getUUID("id"));
                            hashes.add(row.getString("record_hash"));
                            blobKeys.addAll(Arrays.asList(row.getArrayOfStrings("blobs")));
                        });
                        for (UUID wantedId : ids) {
                            if (!found.contains(wantedId)) {
                                throw ProblemException.notFound("record", wantedId.toString());
                            }
                        }
                        Map<String, Object> details = new LinkedHashMap<>();
                        details.put("dataset_id", datasetId);
                        details.put("erasure_request_id", erasureRequestId);
                        details.put("records_erased", ids.size());
                        details.put("images_erased", blobKeys.size());
                        details.put("record_hashes", hashes);
                        return tx.preparedQuery("DELETE FROM dataset_record WHERE id = ANY($1)")
                                .execute(Tuple.of(wanted))
                                .chain(() -> tx.preparedQuery("UPDATE dataset SET record_count = record_count - $2,"
                                        + " key_rotation_due_since = $3, updated_at = $3 WHERE id = $1")
                                        .execute(Tuple.of(id, (long) ids.size(), now())))
                                .chain(() -> outbox.add(tx, AuditEvents.byCaller(caller, ImportService.SOURCE,
                                        "dataset.records.erased", "dataset", datasetId, Outcome.OUTCOME_SUCCESS,
                                        details)))
                                .replaceWith((String) null);
                    });
        })).await().indefinitely();
        if (held != null) {
            refuseHeld(AuditEvents.byCaller(caller, ImportService.SOURCE, "dataset.records.erased", "dataset",
                    datasetId, Outcome.OUTCOME_DENIED, Map.of("refused_by", "legal_hold", "erasure_request_id",
                            erasureRequestId)),
                    held);
        }
        for (String blobKey : blobKeys) {
            try {
                blobs.delete(blobKey);
            } catch (IOException e) {
                LOG.warnf(e, "Could not delete blob %s of an erased record; the sweeper will", blobKey);
            }
        }
        try {
            rotation.rotateAfterErasure(tenant, id);
        } catch (RuntimeException e) {
            // The erasure is committed and the rotation marked as due: the retention job finishes it.
            LOG.warnf(e, "Key rotation after an erasure in dataset %s failed; the retention job will retry", id);
        }
        return new Erased(ids.size(), blobKeys.size(), hashes);
    }

    /** Removes the dataset row and queues its shred, with the event, in the caller's transaction. */
    private Uni<Void> remove(SqlClient tx, String tenant, UUID id, String reason, AuditEvent event) {
        return tx.preparedQuery("DELETE FROM dataset WHERE id = $1").execute(Tuple.of(id))
                .chain(() -> tx.preparedQuery("INSERT INTO dataset_shred (dataset_id, tenant, reason, requested_at)"
                        + " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                        .execute(Tuple.of(id, tenant, reason, now())))
                .chain(() -> outbox.add(tx, event));
    }

    /**
     * Destroys a deleted dataset's KEK, then its blobs, then its shred row with the audit event. Returns false
     * (and leaves the row for the next run) when the KMS or the blob store failed.
     */
    private boolean shred(String tenant, UUID id, String reason) {
        try {
            dataKeys.destroy(ImportService.datasetKeyName(tenant, id));
            blobs.deleteAll(tenant + "/" + id);
        } catch (IOException | RuntimeException e) {
            LOG.warnf(e, "Could not yet shred dataset %s; the retention job will try again", id);
            return false;
        }
        pool.withTransaction(tx -> tx.preparedQuery("DELETE FROM dataset_shred WHERE dataset_id = $1")
                .execute(Tuple.of(id))
                .chain(rows -> rows.rowCount() == 0
                        ? Uni.createFrom().voidItem()
                        : outbox.add(tx, AuditEvents.bySystem(ImportService.SOURCE, tenant, "dataset.key.destroyed",
                                "dataset", id.toString(), Outcome.OUTCOME_SUCCESS, Map.of("reason", reason)))))
                .await().indefinitely();
        return true;
    }

    /** Records the refused attempt, then refuses it. */
    private void refuseHeld(AuditEvent refusal, String reason) {
        outbox.add(pool, refusal).await().indefinitely();
        throw new ProblemException(ProblemType.LEGAL_HOLD, "the dataset is under legal hold (" + reason
                + "): nothing was deleted; release the hold first", "dataset_id");
    }

    /** Locks the tenant's dataset row; the legal hold's reason, or null when there is none. */
    private static Uni<String> lock(SqlClient tx, String tenant, UUID id, String datasetId) {
        return tx.preparedQuery("SELECT legal_hold_reason FROM dataset WHERE id = $1 AND tenant = $2 FOR UPDATE")
                .execute(Tuple.of(id, tenant))
                .map(rows -> {
                    requireFound(rows.rowCount(), datasetId);
                    return rows.iterator().next().getString("legal_hold_reason");
                });
    }

    private static UUID datasetIdOf(String datasetId) {
        return Ids.parse(datasetId).orElseThrow(() -> ProblemException.notFound("dataset", datasetId));
    }

    private static void requireFound(int rows, String datasetId) {
        if (rows == 0) {
            throw ProblemException.notFound("dataset", datasetId);
        }
    }

    private static OffsetDateTime now() {
        return OffsetDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.MICROS);
    }
}
