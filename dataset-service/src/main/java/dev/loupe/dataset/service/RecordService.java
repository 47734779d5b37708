package dev.loupe.dataset.service;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.dataset.repository.OutboxRepository;
import dev.loupe.dataset.storage.BlobStore;
import dev.loupe.dataset.storage.ImageCipher;
import dev.loupe.dataset.storage.ImageUnreadableException;
import dev.loupe.support.audit.AuditEvents;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.id.Ids;
import dev.loupe.support.kms.DataKeyUnavailableException;
import dev.loupe.support.kms.DataKeys;
import dev.loupe.support.security.Caller;

/**
 * Reads stored records: metadata of the records of succeeded imports, and images decrypted for roles allowed to
 * view them, each read recorded in the audit trail before the image leaves the service.
 */
@ApplicationScoped
public class RecordService {

    /** A record as stored, with its images' metadata. */
    public record StoredRecord(UUID id, UUID datasetId, UUID importId, String clientId, String messagesJson,
            String annotationsJson, String expectedOutputJson, String recordHash, int estimatedTokens,
            Instant createdAt, List<StoredImage> images) {
    }

    /** An image's metadata; the blob and the wrapped key stay here. */
    public record StoredImage(int index, String mediaType, int width, int height, long sizeBytes,
            String contentHash) {
    }

    /** A page of records; {@code nextAfter} is the cursor of the next page, empty when none follows. */
    public record Page(List<StoredRecord> records, String nextAfter) {
    }

    /** A decrypted image. */
    public record Image(String mediaType, byte[] bytes) {
    }

    private static final String VISIBLE = "FROM dataset_record r JOIN dataset_import i ON i.id = r.import_id"
            + " AND i.state = 'succeeded'";

    private final Pool pool;
    private final DataKeys dataKeys;
    private final BlobStore blobs;
    private final OutboxRepository outbox;

    public RecordService(Pool pool, DataKeys dataKeys, BlobStore blobs, OutboxRepository outbox) {
        this.outbox = outbox;
        this.pool = pool;
        this.dataKeys = dataKeys;
        this.blobs = blobs;
    }

    /** The dataset's id when it is the tenant's; NOT_FOUND exactly as for one that never existed otherwise. */
    public Uni<UUID> requireDataset(String tenant, String datasetId) {
        UUID id = Ids.parse(datasetId).orElseThrow(() -> ProblemException.notFound("dataset", datasetId));
        return pool.preparedQuery("SELECT 1 FROM dataset WHERE id = $1 AND tenant = $2")
                .execute(Tuple.of(id, tenant))
                .map(rows -> {
                    if (rows.rowCount() == 0) {
                        throw ProblemException.notFound("dataset", datasetId);
                    }
                    return id;
                });
    }

    /** Records of a dataset, oldest first, after the record {@code after} (empty: from the start). */
    public Uni<Page> list(String tenant, String datasetId, String after, int limit) {
        UUID afterId = after.isEmpty()
                ? new UUID(0, 0)
                : Ids.parse(after).orElseThrow(() -> ProblemException.invalid("after",
                        "after must be the next_after of the previous page"));
        return requireDataset(tenant, datasetId)
                .chain(id -> pool.preparedQuery("SELECT r.* " + VISIBLE + " WHERE r.dataset_id = $1 AND r.tenant = $2"
                        + " AND r.id > $3 ORDER BY r.id LIMIT $4")
                        .execute(Tuple.of(id, tenant, afterId, limit + 1)))
                .chain(rows -> page(rows, limit, "id"));
    }

    /**
     * Records of a frozen version in manifest order, after the position {@code after} (empty: from the start).
     * Records erased since the version was frozen are no longer listed.
     */
    public Uni<Page> listVersion(String tenant, String datasetId, String versionId, String after, int limit) {
        UUID version = Ids.parse(versionId).orElseThrow(() -> ProblemException.notFound("version", versionId));
        int afterPosition;
        try {
            afterPosition = after.isEmpty() ? -1 : Integer.parseInt(after);
        } catch (NumberFormatException e) {
            throw ProblemException.invalid("after", "after must be the next_after of the previous page");
        }
        return requireDataset(tenant, datasetId)
                .chain(dataset -> pool.preparedQuery("SELECT 1 FROM dataset_version WHERE id = $1 AND dataset_id = $2")
                        .execute(Tuple.of(version, dataset))
                        .chain(found -> {
                            if (found.rowCount() == 0) {
                                throw ProblemException.notFound("version", versionId);
                            }
                            return pool
                                    .preparedQuery("SELECT r.*, v.position FROM version_record v JOIN dataset_record r"
                                            + " ON r.id = v.record_id WHERE v.version_id = $1 AND v.position > $2"
                                            + " ORDER BY v.position LIMIT $3")
                                    .execute(Tuple.of(version, afterPosition,
                                            limit + 1));
                        }))
                .chain(rows -> page(rows, limit, "position"));
    }

    private Uni<Page> page(Iterable<Row> rows, int limit, String cursorColumn) {
        List<Row> found = new ArrayList<>();
        rows.forEach(found::add);
        boolean more = found.size() > limit;
        List<Row> page = more ? found.subList(0, limit) : found;
        String next = more ? String.valueOf(page.get(page.size() - 1).getValue(cursorColumn)) : "";
        return withImages(page).map(records -> new Page(records, next));
    }

    public Uni<StoredRecord> get(String tenant, String datasetId, String recordId) {
        UUID id = Ids.parse(recordId).orElseThrow(() -> ProblemException.notFound("record", recordId));
        return requireDataset(tenant, datasetId)
                .chain(dataset -> pool.preparedQuery("SELECT r.* " + VISIBLE + " WHERE r.id = $1 AND r.dataset_id = $2"
                        + " AND r.tenant = $3").execute(Tuple.of(id, dataset, tenant)))
                .chain(rows -> {
                    if (rows.rowCount() == 0) {
                        return Uni.createFrom().failure(ProblemException.notFound("record", recordId));
                    }
                    return withImages(List.of(rows.iterator().next())).map(records -> records.get(0));
                });
    }

    /**
     * An image decrypted. The read is in the audit outbox (committed) before the image is decrypted, so no image
     * leaves unrecorded; a blob that fails its integrity check, or whose key was destroyed, is an error, never
     * silently other bytes.
     */
    public Uni<Image> image(Caller caller, String datasetId, String recordId, int index) {
        String tenant = caller.requireTenant();
        if (index < 0) {
            throw ProblemException.invalid("image_index", "image_index starts at 0");
        }
        return get(tenant, datasetId, recordId).chain(record -> {
            if (index >= record.images().size()) {
                return Uni.createFrom().failure(ProblemException.notFound("image", recordId + "/" + index));
            }
            return pool.preparedQuery("SELECT blob_key, wrapped_key, media_type FROM record_image"
                    + " WHERE record_id = $1 AND index = $2").execute(Tuple.of(record.id(), index))
                    .chain(rows -> {
                        Row row = rows.iterator().next();
                        var event = AuditEvents.byCaller(caller, ImportService.SOURCE, "dataset.image.read",
                                "record", record.id().toString(), Outcome.OUTCOME_SUCCESS,
                                Map.of("dataset_id", record.datasetId().toString(), "image_index", index));
                        return outbox.add(pool, event)
                                .chain(() -> Uni.createFrom().item(() -> decrypt(tenant, record, index, row))
                                        .runSubscriptionOn(Infrastructure.getDefaultWorkerPool()))
                                .onFailure(ImageUnreadableException.class).transform(e -> new ProblemException(
                                        ProblemType.STORED_DATA_UNREADABLE, "Image " + index + " of record "
                                                + recordId + " cannot be read: " + e.getMessage()));
                    });
        });
    }

    private Image decrypt(String tenant, StoredRecord record, int index, Row row) {
        return new Image(row.getString("media_type"), decrypt(tenant, record.datasetId(), record.id(), index,
                row.getString("blob_key"), row.getString("wrapped_key")));
    }

    /**
     * An image's bytes: its blob opened with its data key, unwrapped under the dataset's KEK. Blocking.
     *
     * @throws ImageUnreadableException when the blob is missing or fails its integrity check, or its key is gone
     */
    public byte[] decrypt(String tenant, UUID datasetId, UUID recordId, int index, String blobKey, String wrapped) {
        byte[] blob;
        try {
            blob = blobs.get(blobKey).orElseThrow(() -> new ImageUnreadableException(
                    "the stored image is missing from the blob store"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        byte[] key;
        try {
            key = dataKeys.unwrap(ImportService.datasetKeyName(tenant, datasetId), wrapped);
        } catch (DataKeyUnavailableException e) {
            throw new ImageUnreadableException("the image's key is not available: " + e.getMessage());
        }
        try {
            return ImageCipher.open(key, new ImageCipher.Place(tenant, datasetId.toString(), recordId.toString(),
                    index), blob);
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    private Uni<List<StoredRecord>> withImages(List<Row> rows) {
        if (rows.isEmpty()) {
            return Uni.createFrom().item(List.of());
        }
        UUID[] ids = rows.stream().map(row -> row.getUUID("id")).toArray(UUID[]::new);
        return pool.preparedQuery("SELECT record_id, index, media_type, width, height, size_bytes, content_hash"
                + " FROM record_image WHERE record_id = ANY($1) ORDER BY record_id, index")
                .execute(Tuple.of(ids))
                .map(imageRows -> {
                    Map<UUID, List<StoredImage>> images = new HashMap<>();
                    imageRows.forEach(image -> images.computeIfAbsent(image.getUUID("record_id"),
                            id -> new ArrayList<>()).add(
                                    new StoredImage(image.getInteger("index"),
                                            image.getString("media_type"), image.getInteger("width"),
                                            image.getInteger("height"), image.getLong("size_bytes"),
                                            image.getString("content_hash"))));
                    List<StoredRecord> records = new ArrayList<>();
                    for (Row row : rows) {
                        records.add(new StoredRecord(row.getUUID("id"), row.getUUID("dataset_id"),
                                row.getUUID("import_id"), row.getString("client_id"), row.getString("messages_json"),
                                row.getString("annotations_json"), row.getString("expected_output_json"),
                                row.getString("record_hash"), row.getInteger("estimated_tokens"),
                                row.getOffsetDateTime("created_at").toInstant(),
                                images.getOrDefault(row.getUUID("id"), List.of())));
                    }
                    return records;
                });
    }
}
