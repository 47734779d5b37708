package dev.loupe.dataset.service;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.vertx.core.Vertx;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.SqlClient;
import io.vertx.mutiny.sqlclient.Tuple;
import org.jboss.logging.Logger;

import dev.loupe.contracts.dataset.v1.ImportChunk;
import dev.loupe.contracts.dataset.v1.ImportStart;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.dataset.config.DatasetConfig;
import dev.loupe.dataset.images.ImageInspector;
import dev.loupe.dataset.images.ImageLimits;
import dev.loupe.dataset.images.ImageRejectedException;
import dev.loupe.dataset.images.NormalisedImage;
import dev.loupe.dataset.imports.ImageRef;
import dev.loupe.dataset.imports.ImportError;
import dev.loupe.dataset.imports.ImportErrorCode;
import dev.loupe.dataset.imports.ImportFormat;
import dev.loupe.dataset.imports.ImportLimits;
import dev.loupe.dataset.imports.ImportMode;
import dev.loupe.dataset.imports.ImportRecord;
import dev.loupe.dataset.imports.ImportReport;
import dev.loupe.dataset.imports.ImportValidator;
import dev.loupe.dataset.imports.RejectedLine;
import dev.loupe.dataset.imports.TokenEstimator;
import dev.loupe.dataset.repository.OutboxRepository;
import dev.loupe.dataset.storage.BlobStore;
import dev.loupe.dataset.storage.ImageCipher;
import dev.loupe.dataset.storage.UploadRefusedException;
import dev.loupe.dataset.storage.UploadSpool;
import dev.loupe.support.audit.AuditEvents;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.error.SqlStates;
import dev.loupe.support.id.Ids;
import dev.loupe.support.kms.DataKey;
import dev.loupe.support.kms.DataKeys;
import dev.loupe.support.kms.KeyedHashes;
import dev.loupe.support.net.RemoteImages;
import dev.loupe.support.security.Caller;

/**
 * Runs imports: receives the upload stream into an encrypted spool, validates every line and image, seals each
 * accepted image under its own data key into the blob store, and publishes the import's records at once by
 * marking the import succeeded. What a failed or interrupted import staged is deleted with its blobs.
 *
 * <p>
 * Order of writes, for crash safety: a blob is durable before the row that names it commits, so a committed row
 * never names a missing blob; a blob whose row never committed is an orphan the sweeper removes. Records are
 * visible only through a succeeded import, so a crash mid-import shows nothing half-written; at the next start
 * such an import is marked failed, its rows and blobs deleted, and its Idempotency-Key released for the retry.
 * This assumes one dataset-service process per database.
 */
@ApplicationScoped
public class ImportService {
    private static final Logger LOG = Logger.getLogger(ImportService.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String SOURCE = "dataset-service";

    /** An import as stored. */
    public record ImportRow(UUID id, UUID datasetId, String format, String mode, String state, long linesRead,
            long recordsAccepted, long linesRejected, long duplicatesSkipped, String failureReason, Instant createdAt,
            Instant finishedAt) {
    }

    /** One rejected line of a stored report. */
    public record RejectionRow(int ordinal, long line, String pointer, String code, String message) {
    }

    private final Pool pool;
    private final DataKeys dataKeys;
    private final KeyedHashes keyedHashes;
    private final BlobStore blobs;
    private final DatasetConfig config;
    private final ImageInspector inspector;
    private final BlobSweeper sweeper;
    private final RecordService records;
    private final OutboxRepository outbox;
    private final RemoteImages remoteImages;
    private final Semaphore importSlots;

    public ImportService(Pool pool, DataKeys dataKeys, KeyedHashes keyedHashes, BlobStore blobs,
            DatasetConfig config, BlobSweeper sweeper, RecordService records, OutboxRepository outbox, Vertx vertx) {
        this.importSlots = new Semaphore(config.imports().maxConcurrent());
        this.remoteImages = RemoteImages.of(vertx, config.imports().remote(), config.imports().maxImageBytes());
        this.sweeper = sweeper;
        this.records = records;
        this.outbox = outbox;
        this.pool = pool;
        this.dataKeys = dataKeys;
        this.keyedHashes = keyedHashes;
        this.blobs = blobs;
        this.config = config;
        this.inspector = new ImageInspector(ImageLimits.builder()
                .optMaxEncodedBytes(config.imports().maxImageBytes())
                .build());
    }

    @PreDestroy
    void close() throws IOException {
        remoteImages.close();
    }

    /** The KEK of a dataset's images: destroying it shreds them all. */
    public static String datasetKeyName(String tenant, UUID datasetId) {
        return "dataset-" + tenant + "-" + datasetId;
    }

    /** The HMAC key of a tenant's image and record hashes (duplicates, lineage). */
    public static String contentKeyName(String tenant) {
        return "dataset-content-" + tenant;
    }

    /** Where an image's blob lives: one folder per dataset, so one folder sync serves a batch. */
    static String blobKey(String tenant, UUID datasetId, UUID recordId, int index) {
        return tenant + "/" + datasetId + "/" + recordId + "-" + index + ".img";
    }

    /** Records stored per transaction, and the normalised image bytes a batch may hold in memory. */
    static final int BATCH_RECORDS = 64;
    static final long BATCH_BYTES = 32L * 1024 * 1024;

    /**
     * Interrupted imports of an earlier run: marked failed, their staged rows and blobs deleted, their keys
     * released; and the spool folders they left, unreadable without their lost keys, removed.
     */
    void recoverInterrupted(@Observes StartupEvent started) throws IOException {
        UploadSpool.removeLeftovers(config.imports().spoolDir());
        List<Row> running = pool
                .preparedQuery("SELECT id, tenant, dataset_id FROM dataset_import WHERE state = 'running'")
                .execute().await().indefinitely().stream().toList();
        for (Row row : running) {
            UUID id = row.getUUID("id");
            deleteStaged(id);
            pool.preparedQuery("UPDATE dataset_import SET state = 'failed', idempotency_key = NULL, finished_at = $2,"
                    + " failure_reason = $3 WHERE id = $1")
                    .execute(Tuple.of(id, now(), "the import was interrupted (the dataset-service stopped);"
                            + " nothing of it was kept: run it again"))
                    .await().indefinitely();
            LOG.infof("Import %s was interrupted by a stop; its staged records were removed", id);
        }
        // No import runs in this process yet, so every blob no row names is an orphan of a crash: remove them
        // now rather than after the sweeper's grace period.
        int orphans = sweeper.sweep(Instant.now());
        if (orphans > 0) {
            LOG.infof("Removed %d blobs an interrupted import left", orphans);
        }
    }

    /**
     * Receives an upload and runs its import.
     *
     * @param caller captured on the request's thread: the work continues on others
     */
    public Uni<ImportRow> importStream(Caller caller, Multi<ImportChunk> chunks) {
        Receiver receiver = new Receiver(caller, caller.requireTenant());
        return chunks.emitOn(Infrastructure.getDefaultWorkerPool())
                .onItem().invoke(receiver::accept)
                .collect().last()
                .onItem().invoke(receiver::finish)
                .onFailure().invoke(receiver::fail)
                .chain(receiver::result)
                .onTermination().invoke(receiver::close);
    }

    /**
     * The upload as it arrives: the start, the records file, then the image files into the spool. The import
     * starts as soon as the records file is complete and validates while the images still arrive; it publishes
     * nothing before the upload has ended whole.
     */
    private final class Receiver {
        private final Caller caller;
        private final String tenant;
        ImportStart start;
        UploadSpool spool;
        CompletableFuture<ImportRow> running;
        /** Whether this upload took one of the import slots, given back once upload and import have ended. */
        boolean holdsSlot;

        Receiver(Caller caller, String tenant) {
            this.caller = caller;
            this.tenant = tenant;
        }

        void accept(ImportChunk chunk) {
            try {
                switch (chunk.getChunkCase()) {
                    case START -> {
                        if (start != null) {
                            throw ProblemException.invalid("start", "the stream must hold exactly one start");
                        }
                        start = chunk.getStart();
                        checkStart(start);
                        if (!importSlots.tryAcquire()) {
                            throw new ProblemException(ProblemType.RATE_LIMITED, config.imports().maxConcurrent()
                                    + " imports are running, the most this service runs at once; try again when"
                                    + " one has finished");
                        }
                        holdsSlot = true;
                        spool = new UploadSpool(config.imports().spoolDir(), config.imports().maxImageBytes(),
                                config.imports().maxImageFiles());
                    }
                    case RECORDS_DATA -> requireStarted().appendRecords(chunk.getRecordsData().toByteArray());
                    case IMAGE_DATA -> {
                        if (requireStarted().appendImage(chunk.getImageData().getFileName(),
                                chunk.getImageData().getData().toByteArray(), chunk.getImageData().getLast())) {
                            beginImport();
                        }
                    }
                    default -> throw ProblemException.invalid("chunk", "an empty chunk");
                }
            } catch (UploadRefusedException e) {
                throw ProblemException.invalid(e.field(), e.getMessage());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private UploadSpool requireStarted() {
            if (start == null) {
                throw ProblemException.invalid("start", "the stream must begin with the start of the import");
            }
            return spool;
        }

        private void beginImport() {
            running = startImport(caller, tenant, start, spool).subscribeAsCompletionStage();
        }

        void finish(Object last) {
            requireStarted();
            try {
                if (spool.finish()) {
                    beginImport();
                }
            } catch (UploadRefusedException e) {
                throw ProblemException.invalid(e.field(), e.getMessage());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** The upload failed: an import already running fails with it and removes what it staged. */
        void fail(Throwable failure) {
            if (spool != null) {
                spool.fail(new IOException(failure.getMessage(), failure));
            }
        }

        Uni<ImportRow> result() {
            return Uni.createFrom().completionStage(running);
        }

        /** Once the upload and the import have both ended; on a worker thread, as deleting files blocks. */
        void close() {
            CompletableFuture<?> ended = running == null ? CompletableFuture.completedFuture(null) : running;
            ended.whenCompleteAsync((row, failure) -> closeSpool(), Infrastructure.getDefaultWorkerPool());
        }

        private void closeSpool() {
            if (holdsSlot) {
                holdsSlot = false;
                importSlots.release();
            }
            if (spool != null) {
                try {
                    spool.close();
                } catch (IOException e) {
                    LOG.warn("Could not remove an import spool", e);
                }
            }
        }
    }

    private static void checkStart(ImportStart start) {
        if (Ids.parse(start.getDatasetId()).isEmpty()) {
            throw ProblemException.notFound("dataset", start.getDatasetId());
        }
        format(start);
        mode(start);
        if (start.getIdempotencyKey().length() > 255) {
            throw ProblemException.invalid("idempotency_key", "an Idempotency-Key has at most 255 characters");
        }
    }

    private static ImportFormat format(ImportStart start) {
        return switch (start.getFormat()) {
            case IMPORT_FORMAT_LOUPE -> ImportFormat.LOUPE;
            case IMPORT_FORMAT_OPENAI -> ImportFormat.OPENAI;
            case IMPORT_FORMAT_LLAVA -> ImportFormat.LLAVA;
            default -> throw ProblemException.invalid("format", "format must be loupe, openai or llava");
        };
    }

    private static ImportMode mode(ImportStart start) {
        return switch (start.getMode()) {
            case IMPORT_MODE_UNSPECIFIED, IMPORT_MODE_ACCEPT_VALID -> ImportMode.ACCEPT_VALID;
            case IMPORT_MODE_ALL_OR_NOTHING -> ImportMode.ALL_OR_NOTHING;
            default -> throw ProblemException.invalid("mode", "mode must be accept_valid or all_or_nothing");
        };
    }

    /** Claims the import (or finds the one its Idempotency-Key already ran), then runs it on a worker thread. */
    private Uni<ImportRow> startImport(Caller caller, String tenant, ImportStart start, UploadSpool spool) {
        UUID datasetId = Ids.parse(start.getDatasetId()).orElseThrow();
        UUID importId = Ids.newId();
        String key = start.getIdempotencyKey().isEmpty() ? null : start.getIdempotencyKey();
        return records.requireDataset(tenant, start.getDatasetId())
                .chain(() -> pool.preparedQuery("INSERT INTO dataset_import (id, tenant, dataset_id, format, mode,"
                        + " state, idempotency_key, file_name, created_by_user_id, created_at)"
                        + " VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $8, $9)")
                        .execute(Tuple.from(Arrays.asList(importId, tenant, datasetId,
                                format(start).name().toLowerCase(Locale.ROOT),
                                mode(start).name().toLowerCase(Locale.ROOT), key, start.getFileName(),
                                caller.userId(), now())))
                        .replaceWith(true)
                        .onFailure(SqlStates::isUniqueViolation).recoverWithItem(false))
                .chain(claimed -> {
                    if (!claimed) {
                        // A retry of an import that ran (or runs): its result, not a second import.
                        return pool.preparedQuery("SELECT * FROM dataset_import WHERE tenant = $1 AND"
                                + " idempotency_key = $2").execute(Tuple.of(tenant, key))
                                .map(rows -> importRow(rows.iterator().next()));
                    }
                    return Uni.createFrom().item(() -> run(caller, tenant, datasetId, importId, start, spool))
                            .runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
                });
    }

    /** The import itself, blocking: validation, sealing, staging, then publishing or discarding. */
    private ImportRow run(Caller caller, String tenant, UUID datasetId, UUID importId, ImportStart start,
            UploadSpool spool) {
        Staging staging = new Staging(tenant, datasetId, importId, spool);
        ImportReport report;
        try (InputStream records = spool.openRecords()) {
            report = new ImportValidator(format(start), mode(start), limits()).validate(records, staging::accept);
            if (report.commit()) {
                staging.flush();
            } else {
                staging.settle();
            }
            // Nothing is published before the whole upload has arrived: an upload that breaks off fails here.
            spool.awaitFinished();
        } catch (IOException | RuntimeException e) {
            LOG.errorf(e, "Import %s failed", importId);
            staging.settle();
            deleteStaged(importId);
            destroyKeyIfDeleted(tenant, datasetId);
            finishFailed(caller, importId, datasetId, "the import could not run: " + e.getMessage(), null, 0);
            return find(tenant, datasetId, importId).orElseThrow();
        }
        if (report.commit()) {
            finishSucceeded(caller, importId, datasetId, report, staging.duplicates.get());
        } else {
            deleteStaged(importId);
            String reason = report.fileError()
                    .map(error -> "the file could not be read to its end: " + error.message() + " ("
                            + report.lineUnit().word() + " " + error.line() + ")")
                    .orElse(report.linesRejected() + " " + report.lineUnit().word() + "s rejected in all-or-nothing"
                            + " mode: nothing was stored; fix them and import again");
            finishFailed(caller, importId, datasetId, reason, report, staging.duplicates.get());
        }
        return find(tenant, datasetId, importId).orElseThrow();
    }

    /**
     * An import that ran while its dataset was deleted may have made the dataset's KEK again after the shred
     * destroyed it (generating a data key creates a missing KEK): destroy it again.
     */
    private void destroyKeyIfDeleted(String tenant, UUID datasetId) {
        boolean exists = pool.preparedQuery("SELECT 1 FROM dataset WHERE id = $1").execute(Tuple.of(datasetId))
                .await().indefinitely().rowCount() > 0;
        if (!exists) {
            dataKeys.destroy(datasetKeyName(tenant, datasetId));
        }
    }

    private ImportLimits limits() {
        return ImportLimits.defaults().toBuilder()
                .optMaxImageBytes(config.imports().maxImageBytes())
                .optMaxSequenceTokens(config.imports().maxSequenceTokens())
                .build();
    }

    /** Checks each valid record's images and stores it unless it duplicates one already there. */
    private final class Staging {
        final String tenant;
        final UUID datasetId;
        final UUID importId;
        final UploadSpool spool;
        final Set<String> seenRecordHashes = new HashSet<>();
        List<Pending> pending = new ArrayList<>();
        long pendingBytes;
        /** Counted by the validating thread and by the storing one. */
        final AtomicLong duplicates = new AtomicLong();
        /** The batch being stored while the next one is validated: at most one, so memory stays bounded. */
        CompletableFuture<Void> storing = CompletableFuture.completedFuture(null);

        Staging(String tenant, UUID datasetId, UUID importId, UploadSpool spool) {
            this.tenant = tenant;
            this.datasetId = datasetId;
            this.importId = importId;
            this.spool = spool;
        }

        List<ImportError> accept(long line, ImportRecord record, List<String> pointers, boolean store)
                throws IOException {
            List<ImportError> errors = new ArrayList<>();
            List<NormalisedImage> images = new ArrayList<>();
            for (int i = 0; i < record.images().size(); i++) {
                try {
                    images.add(inspector.inspect(bytesOf(record.images().get(i))));
                } catch (ImageRejectedException e) {
                    errors.add(new ImportError(line, pointers.get(i), ImportErrorCode.valueOf(e.code().name()),
                            e.getMessage()));
                } catch (MissingImage e) {
                    errors.add(new ImportError(line, pointers.get(i), e.code, e.getMessage()));
                }
            }
            if (!errors.isEmpty() || !store) {
                return errors;
            }
            List<String> imageHashes = new ArrayList<>();
            for (NormalisedImage image : images) {
                imageHashes.add(keyedHashes.hash(contentKeyName(tenant),
                        ("loupe.dataset.image.v1\n" + image.sha256Hex()).getBytes(StandardCharsets.UTF_8)).text());
            }
            String recordHash = keyedHashes.hash(contentKeyName(tenant),
                    RecordJson.canonical(record, imageHashes).getBytes(StandardCharsets.UTF_8)).text();
            if (!seenRecordHashes.add(recordHash)) {
                duplicates.incrementAndGet();
                return errors;
            }
            pending.add(new Pending(line, record, images, imageHashes, recordHash));
            pendingBytes += images.stream().mapToLong(NormalisedImage::size).sum();
            if (pending.size() >= BATCH_RECORDS || pendingBytes >= BATCH_BYTES) {
                storeInBackground();
            }
            return errors;
        }

        /**
         * Hands the pending batch to a worker thread, after the previous batch is stored: writing blobs and
         * committing rows mostly waits on the disk, which the next batch's decoding then overlaps.
         */
        private void storeInBackground() throws IOException {
            finishStoring();
            List<Pending> batch = pending;
            pending = new ArrayList<>();
            pendingBytes = 0;
            storing = CompletableFuture.runAsync(() -> {
                try {
                    store(batch);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, Infrastructure.getDefaultWorkerPool());
        }

        /** Waits for the batch being stored; its failure fails the import. */
        private void finishStoring() throws IOException {
            try {
                storing.join();
            } catch (CompletionException e) {
                if (e.getCause() instanceof UncheckedIOException io) {
                    throw io.getCause();
                }
                if (e.getCause() instanceof RuntimeException runtime) {
                    throw runtime;
                }
                throw e;
            }
        }

        /** Waits for a batch still being stored, whatever its outcome, so that nothing is written after it. */
        void settle() {
            try {
                storing.join();
            } catch (CompletionException e) {
                LOG.debug("A batch of a failed import was not stored", e);
            }
        }

        /** Stores what is pending and waits until every batch is stored. */
        void flush() throws IOException {
            finishStoring();
            List<Pending> batch = pending;
            pending = new ArrayList<>();
            pendingBytes = 0;
            store(batch);
        }

        private byte[] bytesOf(ImageRef ref) throws IOException {
            if (ref instanceof ImageRef.ArchiveFile file) {
                return spool.image(file.path()).orElseThrow(() -> new MissingImage(
                        ImportErrorCode.MISSING_IMAGE_FILE, "the upload's images hold no file " + file.path()));
            }
            if (ref instanceof ImageRef.InlineImage inline) {
                return inline.openStream().readAllBytes();
            }
            try {
                return remoteImages.fetch(((ImageRef.RemoteUrl) ref).url());
            } catch (RemoteImages.Refused e) {
                throw new MissingImage(switch (e.reason()) {
                    case NOT_ALLOWED -> ImportErrorCode.REMOTE_URL_NOT_ALLOWED;
                    case NOT_PUBLIC -> ImportErrorCode.PRIVATE_ADDRESS;
                    case FETCH_FAILED -> ImportErrorCode.REMOTE_FETCH_FAILED;
                }, e.getMessage());
            }
        }

        /**
         * Stores a batch of records: those the dataset holds already are duplicates; for the others, every blob is
         * sealed and written durably first, then one transaction inserts their rows, so a committed row never names
         * a missing blob and one commit (one WAL flush) serves the whole batch.
         */
        private void store(List<Pending> pending) throws IOException {
            if (pending.isEmpty()) {
                return;
            }
            Set<String> held = new HashSet<>();
            pool.preparedQuery("SELECT record_hash FROM dataset_record WHERE dataset_id = $1 AND record_hash = ANY($2)")
                    .execute(Tuple.of(datasetId, pending.stream().map(Pending::recordHash).toArray(String[]::new)))
                    .await().indefinitely()
                    .forEach(row -> held.add(row.getString("record_hash")));
            Map<String, byte[]> sealed = new LinkedHashMap<>();
            List<Tuple> recordRows = new ArrayList<>();
            Map<UUID, List<Tuple>> imageRows = new LinkedHashMap<>();
            TokenEstimator tokens = new TokenEstimator(limits());
            for (Pending record : pending) {
                if (held.contains(record.recordHash())) {
                    duplicates.incrementAndGet();
                    continue;
                }
                UUID recordId = Ids.newId();
                List<Tuple> images = new ArrayList<>();
                for (int i = 0; i < record.images().size(); i++) {
                    NormalisedImage image = record.images().get(i);
                    DataKey key = dataKeys.generate(datasetKeyName(tenant, datasetId));
                    String blobKey = blobKey(tenant, datasetId, recordId, i);
                    sealed.put(blobKey, ImageCipher.seal(key.plaintext(),
                            new ImageCipher.Place(tenant, datasetId.toString(), recordId.toString(), i),
                            image.toByteArray()));
                    Arrays.fill(key.plaintext(), (byte) 0);
                    images.add(Tuple.from(List.of(recordId, i, "image/png", image.width(), image.height(),
                            (long) image.size(), record.imageHashes().get(i), blobKey, key.wrapped())));
                }
                imageRows.put(recordId, images);
                recordRows.add(Tuple.from(List.of(recordId, tenant, datasetId, importId, record.line(),
                        record.record().clientId().orElse(""), RecordJson.messages(record.record().messages()),
                        RecordJson.annotations(record.record().annotations()),
                        record.record().expectedOutputJson().orElse(""), record.recordHash(),
                        (int) Math.min(Integer.MAX_VALUE, tokens.estimate(record.record())), now())));
            }
            if (recordRows.isEmpty()) {
                return;
            }
            blobs.putAll(sealed);
            Set<UUID> inserted = null;
            // A rotation between wrapping and inserting: rewrap and try again; more than a few in a row means the
            // KMS and the dataset row disagree about the newest version, which retrying cannot mend.
            for (int attempt = 0; inserted == null; attempt++) {
                try {
                    inserted = insert(recordRows, imageRows);
                } catch (StaleKeys stale) {
                    if (attempt == 3) {
                        throw new IllegalStateException("the dataset's key version " + stale.keyVersion
                                + " is newer than the KMS's newest version of its key");
                    }
                    rewrapBelow(stale.keyVersion, imageRows);
                }
            }
            // A concurrent import of the same dataset took these records first: duplicates, blobs unneeded.
            for (Map.Entry<UUID, List<Tuple>> record : imageRows.entrySet()) {
                if (!inserted.contains(record.getKey())) {
                    duplicates.incrementAndGet();
                    for (Tuple image : record.getValue()) {
                        blobs.delete(image.getString(7));
                    }
                }
            }
        }

        /**
         * Inserts a batch's rows in one transaction that holds the dataset row {@code FOR SHARE}: a key rotation
         * raises the dataset's key version under that lock before it rewraps, so a batch whose keys were wrapped
         * under an older version fails with {@link StaleKeys} here, instead of adding rows the rotation would miss.
         */
        private Set<UUID> insert(List<Tuple> recordRows, Map<UUID, List<Tuple>> imageRows) {
            return pool.withTransaction(tx -> tx.preparedQuery("SELECT key_version FROM dataset WHERE id = $1"
                    + " FOR SHARE").execute(Tuple.of(datasetId))
                    .invoke(rows -> {
                        int current = rows.rowCount() == 0 ? 0 : rows.iterator().next().getInteger("key_version");
                        for (List<Tuple> images : imageRows.values()) {
                            for (Tuple image : images) {
                                if (DataKeys.versionOf(image.getString(8)) < current) {
                                    throw new StaleKeys(current);
                                }
                            }
                        }
                    })
                    .chain(() -> tx.preparedQuery("INSERT INTO dataset_record (id, tenant,"
                            + " dataset_id, import_id, line, client_id, messages_json, annotations_json, expected_output_json,"
                            + " record_hash, estimated_tokens, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
                            + " $11, $12) ON CONFLICT (dataset_id, record_hash) DO NOTHING RETURNING id")
                            .executeBatch(recordRows)
                            .chain(results -> {
                                Set<UUID> ids = new HashSet<>();
                                for (RowSet<Row> result = results; result != null; result = result.next()) {
                                    result.forEach(row -> ids.add(row.getUUID("id")));
                                }
                                List<Tuple> images = new ArrayList<>();
                                ids.forEach(id -> images.addAll(imageRows.get(id)));
                                return images.isEmpty()
                                        ? Uni.createFrom().item(ids)
                                        : tx.preparedQuery(
                                                "INSERT INTO record_image (record_id, index, media_type, width,"
                                                        + " height, size_bytes, content_hash, blob_key, wrapped_key) VALUES ($1, $2,"
                                                        + " $3, $4, $5, $6, $7, $8, $9)")
                                                .executeBatch(images).replaceWith(ids);
                            })))
                    .await().indefinitely();
        }

        /** Rewraps, under the newest KEK version, the batch's keys wrapped under a version below {@code version}. */
        private void rewrapBelow(int version, Map<UUID, List<Tuple>> imageRows) {
            String keyName = datasetKeyName(tenant, datasetId);
            for (List<Tuple> images : imageRows.values()) {
                for (int i = 0; i < images.size(); i++) {
                    Tuple image = images.get(i);
                    if (DataKeys.versionOf(image.getString(8)) < version) {
                        images.set(i, Tuple.from(List.of(image.getValue(0), image.getValue(1), image.getValue(2),
                                image.getValue(3), image.getValue(4), image.getValue(5), image.getValue(6),
                                image.getValue(7), dataKeys.rewrap(keyName, image.getString(8)))));
                    }
                }
            }
        }
    }

    /** A batch's keys were wrapped under a KEK version older than the dataset's current one. */
    private static final class StaleKeys extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int keyVersion;

        StaleKeys(int keyVersion) {
            super(null, null, false, false);
            this.keyVersion = keyVersion;
        }
    }

    /** A checked record waiting for its batch to be stored. */
    private record Pending(long line, ImportRecord record, List<NormalisedImage> images, List<String> imageHashes,
            String recordHash) {
    }

    /** An image the upload cannot provide. */
    private static final class MissingImage extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final ImportErrorCode code;

        MissingImage(ImportErrorCode code, String message) {
            super(message, null, false, false);
            this.code = code;
        }
    }

    private void finishSucceeded(Caller caller, UUID importId, UUID datasetId, ImportReport report, long duplicates) {
        long accepted = report.linesAccepted() - duplicates;
        Map<String, Object> details = summary(importId, report, duplicates);
        pool.withTransaction(tx -> tx.preparedQuery("UPDATE dataset_import SET state = 'succeeded', lines_read = $2,"
                + " records_accepted = $3, lines_rejected = $4, duplicates_skipped = $5, finished_at = $6,"
                + " rejections_by_code = $7 WHERE id = $1")
                .execute(Tuple.from(List.of(importId, report.linesRead(), accepted, report.linesRejected(), duplicates,
                        now(), rejectionsByCode(report))))
                .chain(() -> tx.preparedQuery("UPDATE dataset SET record_count = record_count + $2, updated_at = $3"
                        + " WHERE id = $1").execute(Tuple.of(datasetId, accepted, now())))
                .chain(() -> insertRejections(tx, importId, report))
                .chain(() -> outbox.add(tx, AuditEvents.byCaller(caller, SOURCE, "dataset.imported", "dataset",
                        datasetId.toString(), Outcome.OUTCOME_SUCCESS, details))))
                .await().indefinitely();
    }

    private void finishFailed(Caller caller, UUID importId, UUID datasetId, String reason, ImportReport report,
            long duplicates) {
        Map<String, Object> details = report == null
                ? new LinkedHashMap<>(Map.of("import_id", importId.toString()))
                : summary(importId, report, duplicates);
        pool.withTransaction(tx -> tx.preparedQuery("UPDATE dataset_import SET state = 'failed', lines_read = $2,"
                + " records_accepted = 0, lines_rejected = $3, duplicates_skipped = 0, failure_reason = $4,"
                + " finished_at = $5, rejections_by_code = $6 WHERE id = $1")
                .execute(Tuple.from(List.of(importId, report == null ? 0L : report.linesRead(),
                        report == null ? 0L : report.linesRejected(), reason, now(),
                        report == null ? "{}" : rejectionsByCode(report))))
                .chain(() -> report == null ? Uni.createFrom().voidItem() : insertRejections(tx, importId, report))
                .chain(() -> outbox.add(tx, AuditEvents.byCaller(caller, SOURCE, "dataset.imported", "dataset",
                        datasetId.toString(), Outcome.OUTCOME_FAILED, details))))
                .await().indefinitely();
    }

    /** The report's rejected lines per error code, as the JSON object the statistics sum. */
    private static String rejectionsByCode(ImportReport report) {
        ObjectNode counts = JSON.createObjectNode();
        report.rejectedLinesByCode().entrySet().stream()
                .sorted(Map.Entry.comparingByKey())
                .forEach(entry -> counts.put(entry.getKey().code(), entry.getValue()));
        return counts.toString();
    }

    private static Map<String, Object> summary(UUID importId, ImportReport report, long duplicates) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("import_id", importId.toString());
        details.put("lines_read", report.linesRead());
        details.put("records_accepted", report.commit() ? report.linesAccepted() - duplicates : 0);
        details.put("lines_rejected", report.linesRejected());
        details.put("duplicates_skipped", duplicates);
        return details;
    }

    private static Uni<Void> insertRejections(SqlClient tx, UUID importId, ImportReport report) {
        List<Tuple> rows = new ArrayList<>();
        report.fileError().ifPresent(error -> rows.add(Tuple.from(List.of(importId, rows.size(), error.line(),
                error.pointer(), error.code().code(), error.message()))));
        for (RejectedLine line : report.rejectedLines()) {
            for (ImportError error : line.errors()) {
                rows.add(Tuple.from(List.of(importId, rows.size(), error.line(), error.pointer(), error.code().code(),
                        error.message())));
            }
        }
        if (rows.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        return tx.preparedQuery("INSERT INTO import_rejection (import_id, ordinal, line, pointer, code, message)"
                + " VALUES ($1, $2, $3, $4, $5, $6)").executeBatch(rows).replaceWithVoid();
    }

    /** Deletes what an import staged: blobs first (a blob without its row is harmless), then the rows. */
    private void deleteStaged(UUID importId) {
        List<Row> images = pool.preparedQuery("SELECT m.blob_key FROM record_image m JOIN dataset_record r"
                + " ON r.id = m.record_id WHERE r.import_id = $1").execute(Tuple.of(importId))
                .await().indefinitely().stream().toList();
        for (Row image : images) {
            try {
                blobs.delete(image.getString("blob_key"));
            } catch (IOException e) {
                LOG.warnf(e, "Could not delete blob %s; the sweeper will", image.getString("blob_key"));
            }
        }
        pool.preparedQuery("DELETE FROM dataset_record WHERE import_id = $1").execute(Tuple.of(importId))
                .await().indefinitely();
    }

    /** An import of a dataset of the tenant, or empty. */
    public Optional<ImportRow> find(String tenant, UUID datasetId, UUID importId) {
        return Optional.ofNullable(findAsync(tenant, datasetId, importId).await().indefinitely());
    }

    public Uni<ImportRow> findAsync(String tenant, UUID datasetId, UUID importId) {
        return pool.preparedQuery("SELECT * FROM dataset_import WHERE id = $1 AND dataset_id = $2 AND tenant = $3")
                .execute(Tuple.of(importId, datasetId, tenant))
                .map(rows -> rows.rowCount() == 0 ? null : importRow(rows.iterator().next()));
    }

    /** Rejections of an import after {@code afterOrdinal}, at most {@code limit}. */
    public Uni<List<RejectionRow>> rejections(UUID importId, int afterOrdinal, int limit) {
        return pool.preparedQuery("SELECT ordinal, line, pointer, code, message FROM import_rejection"
                + " WHERE import_id = $1 AND ordinal > $2 ORDER BY ordinal LIMIT $3")
                .execute(Tuple.of(importId, afterOrdinal, limit))
                .map(rows -> {
                    List<RejectionRow> found = new ArrayList<>();
                    rows.forEach(row -> found.add(new RejectionRow(row.getInteger("ordinal"), row.getLong("line"),
                            row.getString("pointer"), row.getString("code"), row.getString("message"))));
                    return found;
                });
    }

    private static ImportRow importRow(Row row) {
        OffsetDateTime finished = row.getOffsetDateTime("finished_at");
        return new ImportRow(row.getUUID("id"), row.getUUID("dataset_id"), row.getString("format"),
                row.getString("mode"), row.getString("state"), row.getLong("lines_read"),
                row.getLong("records_accepted"), row.getLong("lines_rejected"), row.getLong("duplicates_skipped"),
                row.getString("failure_reason"), row.getOffsetDateTime("created_at").toInstant(),
                finished == null ? null : finished.toInstant());
    }

    private static OffsetDateTime now() {
        return OffsetDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.MICROS);
    }
}
