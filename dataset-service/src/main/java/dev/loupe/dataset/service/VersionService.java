package dev.loupe.dataset.service;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.dataset.repository.OutboxRepository;
import dev.loupe.support.audit.AuditEvents;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.error.SqlStates;
import dev.loupe.support.id.Ids;
import dev.loupe.support.kms.KeyedHashes;
import dev.loupe.support.security.Caller;

/**
 * Freezes immutable versions of a dataset. A version lists the dataset's records in the order of their record
 * hashes (the manifest), each assigned to the train or validation split by a keyed hash of its record id, so the
 * same records and seed always give the same split and nobody without the tenant's key can predict or steer it.
 * The manifest hash is SHA-256 over {@code loupe.dataset.manifest.v1}, then for each record its hash and split, one
 * per line: what a version holds, independent of where it is stored.
 */
@ApplicationScoped
public class VersionService {

    /** A version as stored. */
    public record VersionRow(UUID id, UUID datasetId, int number, long recordCount, long trainCount,
            long validationCount, double validationFraction, long splitSeed, String manifestHash, String description,
            String createdByUserId, String createdByUsername, OffsetDateTime createdAt, long erasedRecordCount) {
    }

    /** A version's row with how many of its records were erased since it was frozen. */
    private static final String SELECT_VERSION = "SELECT v.*, v.record_count - (SELECT count(*) FROM version_record x"
            + " WHERE x.version_id = v.id) AS erased_record_count FROM dataset_version v";

    /** A page of versions, and whether more follow. */
    public record Page(List<VersionRow> versions, boolean hasMore) {
    }

    private record Member(UUID recordId, String recordHash) {
    }

    private final Pool pool;
    private final KeyedHashes keyedHashes;
    private final RecordService records;
    private final OutboxRepository outbox;

    public VersionService(Pool pool, KeyedHashes keyedHashes, RecordService records, OutboxRepository outbox) {
        this.outbox = outbox;
        this.pool = pool;
        this.keyedHashes = keyedHashes;
        this.records = records;
    }

    /** Freezes the dataset's current records; with an Idempotency-Key, a retry answers the version it made. */
    public Uni<VersionRow> create(Caller caller, String datasetId, double validationFraction, long seed,
            String description, String idempotencyKey) {
        String tenant = caller.requireTenant();
        if (!(validationFraction >= 0 && validationFraction <= 0.5)) {
            throw ProblemException.invalid("validation_fraction", "validation_fraction must be between 0 and 0.5");
        }
        if (description.length() > 1000) {
            throw ProblemException.invalid("description", "description has at most 1000 characters");
        }
        String key = idempotencyKey.isEmpty() ? null : idempotencyKey;
        return records.requireDataset(tenant, datasetId)
                .chain(dataset -> key == null
                        ? Uni.createFrom().nullItem()
                        : byKey(tenant, key)
                                .map(found -> {
                                    if (found != null && !found.datasetId().equals(dataset)) {
                                        throw ProblemException.invalid("Idempotency-Key",
                                                "this Idempotency-Key was used for a version of another dataset");
                                    }
                                    return found;
                                }))
                .chain(existing -> existing != null
                        ? Uni.createFrom().item(existing)
                        : Uni.createFrom().item(() -> splitKey(tenant, seed))
                                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
                                .chain(splitKey -> freeze(caller, tenant, UUID.fromString(datasetId),
                                        validationFraction, seed, description, key, splitKey))
                                .onFailure(SqlStates::isUniqueViolation)
                                .recoverWithUni(() -> key == null
                                        ? Uni.createFrom().failure(ProblemException.invalid("dataset_id",
                                                "another version of this dataset was frozen at the same moment;"
                                                        + " try again"))
                                        : byKey(tenant, key)));
    }

    private Uni<VersionRow> byKey(String tenant, String key) {
        return pool.preparedQuery(SELECT_VERSION + " WHERE v.tenant = $1 AND v.idempotency_key = $2")
                .execute(Tuple.of(tenant, key))
                .map(rows -> rows.rowCount() == 0 ? null : row(rows.iterator().next()));
    }

    /** In one transaction: the next number, the manifest, the version row and its audit event. */
    private Uni<VersionRow> freeze(Caller caller, String tenant, UUID datasetId, double validationFraction, long seed,
            String description, String key, byte[] splitKey) {
        UUID versionId = Ids.newId();
        return pool.withTransaction(tx -> tx
                .preparedQuery("SELECT 1 FROM dataset WHERE id = $1 AND tenant = $2 FOR UPDATE")
                .execute(Tuple.of(datasetId, tenant))
                .chain(() -> tx.preparedQuery("SELECT r.id, r.record_hash FROM dataset_record r JOIN dataset_import i"
                        + " ON i.id = r.import_id AND i.state = 'succeeded' WHERE r.dataset_id = $1")
                        .execute(Tuple.of(datasetId)))
                .chain(rows -> {
                    List<Member> members = new ArrayList<>();
                    rows.forEach(row -> members.add(new Member(row.getUUID("id"), row.getString("record_hash"))));
                    if (members.isEmpty()) {
                        return Uni.createFrom().failure(new ProblemException(ProblemType.CONFLICT,
                                "the dataset has no records yet: import some before freezing a version"));
                    }
                    members.sort(Comparator.comparing(Member::recordHash));
                    List<Tuple> manifest = new ArrayList<>(members.size());
                    MessageDigest digest = sha256();
                    digest.update("loupe.dataset.manifest.v1\n".getBytes(StandardCharsets.UTF_8));
                    long validation = 0;
                    for (int position = 0; position < members.size(); position++) {
                        Member member = members.get(position);
                        boolean toValidation = inValidation(splitKey, member.recordId(), validationFraction);
                        String split = toValidation ? "validation" : "train";
                        validation += toValidation ? 1 : 0;
                        digest.update((member.recordHash() + " " + split + "\n").getBytes(StandardCharsets.UTF_8));
                        manifest.add(Tuple.of(versionId, position, member.recordId(), split));
                    }
                    String manifestHash = HexFormat.of().formatHex(digest.digest());
                    long total = members.size();
                    long validationCount = validation;
                    return tx.preparedQuery("INSERT INTO dataset_version (id, tenant, dataset_id, number, record_count,"
                            + " train_count, validation_count, validation_fraction, split_seed, manifest_hash,"
                            + " description, idempotency_key, created_by_user_id, created_by_username, created_at)"
                            + " SELECT $1, $2, $3, coalesce(max(number), 0) + 1, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
                            + " $13, $14 FROM dataset_version WHERE dataset_id = $3")
                            .execute(Tuple.from(Arrays.asList(versionId, tenant, datasetId, total,
                                    total - validationCount, validationCount, validationFraction, seed, manifestHash,
                                    description, key, caller.userId(), caller.username(), now())))
                            .chain(() -> tx.preparedQuery("INSERT INTO version_record (version_id, position, record_id,"
                                    + " split) VALUES ($1, $2, $3, $4)").executeBatch(manifest))
                            .chain(() -> outbox.add(tx, AuditEvents.byCaller(caller, ImportService.SOURCE,
                                    "dataset.version.created", "dataset_version", versionId.toString(),
                                    Outcome.OUTCOME_SUCCESS, Map.of("dataset_id", datasetId.toString(),
                                            "record_count", total, "manifest_hash", manifestHash))))
                            .chain(() -> tx.preparedQuery(SELECT_VERSION + " WHERE v.id = $1")
                                    .execute(Tuple.of(versionId)))
                            .map(inserted -> row(inserted.iterator().next()));
                }));
    }

    /**
     * A version of the tenant's dataset; with an empty {@code datasetId}, the tenant's version of that id in
     * whichever dataset holds it (a fine-tuning job names its version alone).
     */
    public Uni<VersionRow> get(String tenant, String datasetId, String versionId) {
        UUID id = Ids.parse(versionId).orElseThrow(() -> ProblemException.notFound("version", versionId));
        Uni<RowSet<Row>> found = datasetId.isEmpty()
                ? pool.preparedQuery(SELECT_VERSION + " WHERE v.id = $1 AND v.tenant = $2")
                        .execute(Tuple.of(id, tenant))
                : records.requireDataset(tenant, datasetId)
                        .chain(dataset -> pool.preparedQuery(SELECT_VERSION + " WHERE v.id = $1 AND v.dataset_id = $2"
                                + " AND v.tenant = $3").execute(Tuple.of(id, dataset, tenant)));
        return found
                .map(rows -> {
                    if (rows.rowCount() == 0) {
                        throw ProblemException.notFound("version", versionId);
                    }
                    return row(rows.iterator().next());
                });
    }

    /** Versions of a dataset, oldest first, after the version numbered {@code afterNumber}. */
    public Uni<Page> list(String tenant, String datasetId, int afterNumber, int limit) {
        return records.requireDataset(tenant, datasetId)
                .chain(dataset -> pool
                        .preparedQuery(SELECT_VERSION + " WHERE v.dataset_id = $1 AND v.tenant = $2"
                                + " AND v.number > $3 ORDER BY v.number LIMIT $4")
                        .execute(Tuple.of(dataset, tenant, afterNumber,
                                limit + 1)))
                .map(rows -> {
                    List<VersionRow> found = new ArrayList<>();
                    rows.forEach(row -> found.add(row(row)));
                    boolean more = found.size() > limit;
                    return new Page(more ? found.subList(0, limit) : found, more);
                });
    }

    /**
     * The key of a version's split: the tenant's content-hash key (in the KMS) applied to the seed, so that one
     * KMS call serves every record of the version.
     */
    private byte[] splitKey(String tenant, long seed) {
        return keyedHashes.hash(ImportService.contentKeyName(tenant),
                ("loupe.dataset.split.v1\n" + seed).getBytes(StandardCharsets.UTF_8)).mac();
    }

    /** Whether a record falls in the validation split: its keyed hash, read as a fraction of 2^64. */
    static boolean inValidation(byte[] splitKey, UUID recordId, double validationFraction) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(splitKey, "HmacSHA256"));
            byte[] hash = mac.doFinal(recordId.toString().getBytes(StandardCharsets.UTF_8));
            long bits = ByteBuffer.wrap(hash, 0, 8).getLong() >>> 11;
            return bits * 0x1.0p-53 < validationFraction;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JVM", e);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is not available in this JVM", e);
        }
    }

    private static VersionRow row(Row row) {
        return new VersionRow(row.getUUID("id"), row.getUUID("dataset_id"), row.getInteger("number"),
                row.getLong("record_count"), row.getLong("train_count"), row.getLong("validation_count"),
                row.getDouble("validation_fraction"), row.getLong("split_seed"), row.getString("manifest_hash"),
                row.getString("description"), row.getString("created_by_user_id"),
                row.getString("created_by_username"), row.getOffsetDateTime("created_at"),
                row.getLong("erased_record_count"));
    }

    private static OffsetDateTime now() {
        return OffsetDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.MICROS);
    }
}
