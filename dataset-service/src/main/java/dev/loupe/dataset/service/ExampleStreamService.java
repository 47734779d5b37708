package dev.loupe.dataset.service;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.loupe.contracts.dataset.v1.ChatMessage;
import dev.loupe.contracts.dataset.v1.Example;
import dev.loupe.contracts.dataset.v1.ExampleImage;
import dev.loupe.contracts.dataset.v1.Split;
import dev.loupe.contracts.dataset.v1.StreamExamplesRequest;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.dataset.config.DatasetConfig;
import dev.loupe.dataset.repository.OutboxRepository;
import dev.loupe.dataset.storage.ImageUnreadableException;
import dev.loupe.support.audit.AuditEvents;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.id.Ids;
import dev.loupe.support.security.Caller;

/**
 * The decrypted examples of a version's split, for training, batches and evaluations. A stream is opened once (by
 * the training-service's or the serving-service's own service account only; the version checked to be the named tenant's; the read recorded in the audit outbox
 * before any example is decrypted) and then read in pages from a manifest position, so the caller decides when
 * to decrypt more. That the named job exists for that tenant and version is not checked yet: the training-service
 * is trusted to name its own jobs.
 */
@ApplicationScoped
public class ExampleStreamService {
    /** Records looked up per page. */
    private static final int PAGE_RECORDS = 16;
    /** A page stops after the record that takes it past this many image bytes, so memory stays bounded. */
    private static final long PAGE_BYTES = 16L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** An opened stream: which version's split of which tenant's dataset. */
    public record Scope(String tenant, UUID datasetId, UUID versionId, String split) {
    }

    /** Examples in manifest order; {@code last} when no example follows them. */
    public record Page(List<Example> examples, boolean last) {
    }

    private final Pool pool;
    private final RecordService records;
    private final OutboxRepository outbox;
    private final DatasetConfig config;
    private final AtomicLong pagesRead = new AtomicLong();

    public ExampleStreamService(Pool pool, RecordService records, OutboxRepository outbox, DatasetConfig config) {
        this.config = config;
        this.pool = pool;
        this.records = records;
        this.outbox = outbox;
    }

    /** Checks the request and records the read; NOT_FOUND when the version is not the named tenant's. */
    public Uni<Scope> open(Caller service, StreamExamplesRequest request) {
        if (!config.exampleReaderClientIds().contains(service.clientId())) {
            throw new ProblemException(ProblemType.FORBIDDEN, "only the training-service and the serving-service read"
                    + " examples");
        }
        if (request.getTenant().isEmpty()) {
            throw ProblemException.invalid("tenant", "tenant is required: the tenant the job belongs to");
        }
        if (request.getJobId().isEmpty()) {
            throw ProblemException.invalid("job_id", "job_id is required: the job this read serves");
        }
        if (request.getSplit() != Split.SPLIT_TRAIN && request.getSplit() != Split.SPLIT_VALIDATION) {
            throw ProblemException.invalid("split", "split must be SPLIT_TRAIN or SPLIT_VALIDATION");
        }
        if (request.getStartPosition() < 0) {
            throw ProblemException.invalid("start_position", "start_position starts at 0");
        }
        UUID versionId = Ids.parse(request.getVersionId())
                .orElseThrow(() -> ProblemException.notFound("version", request.getVersionId()));
        String split = request.getSplit() == Split.SPLIT_TRAIN ? "train" : "validation";
        return pool.preparedQuery("SELECT dataset_id FROM dataset_version WHERE id = $1 AND tenant = $2")
                .execute(Tuple.of(versionId, request.getTenant()))
                .chain(rows -> {
                    if (rows.rowCount() == 0) {
                        throw ProblemException.notFound("version", request.getVersionId());
                    }
                    UUID datasetId = rows.iterator().next().getUUID("dataset_id");
                    Map<String, Object> details = new LinkedHashMap<>();
                    details.put("dataset_id", datasetId.toString());
                    details.put("job_id", request.getJobId());
                    details.put("split", split);
                    details.put("start_position", request.getStartPosition());
                    return outbox.add(pool, AuditEvents.onBehalfOf(service, request.getTenant(),
                            request.getOnBehalfOf(), ImportService.SOURCE, "dataset.version.examples.read",
                            "dataset_version", versionId.toString(), Outcome.OUTCOME_SUCCESS, details))
                            .replaceWith(new Scope(request.getTenant(), datasetId, versionId, split));
                });
    }

    /** Pages read (and their images decrypted) since start: how far the streams ran ahead of their readers. */
    public long pagesRead() {
        return pagesRead.get();
    }

    /** The next examples of the split from manifest position {@code from} on. Blocking: decrypts images. */
    public Page page(Scope scope, long from) {
        pagesRead.incrementAndGet();
        List<Row> rows = new ArrayList<>();
        pool.preparedQuery("SELECT v.position, r.id, r.record_hash, r.messages_json, r.annotations_json"
                + " FROM version_record v JOIN dataset_record r ON r.id = v.record_id"
                + " WHERE v.version_id = $1 AND v.split = $2 AND v.position >= $3 ORDER BY v.position LIMIT $4")
                .execute(Tuple.of(scope.versionId(), scope.split(), (int) Math.min(Integer.MAX_VALUE, from),
                        PAGE_RECORDS))
                .await().indefinitely().forEach(rows::add);
        Map<UUID, List<Row>> images = images(rows);
        List<Example> examples = new ArrayList<>();
        long bytes = 0;
        for (Row row : rows) {
            if (bytes > PAGE_BYTES) {
                return new Page(examples, false);
            }
            UUID recordId = row.getUUID("id");
            Example.Builder example = Example.newBuilder()
                    .setPosition(row.getInteger("position"))
                    .setRecordId(recordId.toString())
                    .setRecordHash(row.getString("record_hash"))
                    .setAnnotationsJson(row.getString("annotations_json"));
            for (JsonNode message : readJson(row.getString("messages_json"))) {
                example.addMessages(ChatMessage.newBuilder()
                        .setRole(message.path("role").asText())
                        .setContent(message.path("content").asText()));
            }
            for (Row image : images.getOrDefault(recordId, List.of())) {
                byte[] png = decrypt(scope, recordId, image);
                bytes += png.length;
                example.addImages(ExampleImage.newBuilder()
                        .setMediaType(image.getString("media_type"))
                        .setData(ByteString.copyFrom(png))
                        .setContentHash(image.getString("content_hash")));
            }
            examples.add(example.build());
        }
        return new Page(examples, rows.size() < PAGE_RECORDS);
    }

    private Map<UUID, List<Row>> images(List<Row> rows) {
        Map<UUID, List<Row>> byRecord = new HashMap<>();
        if (rows.isEmpty()) {
            return byRecord;
        }
        pool.preparedQuery("SELECT record_id, index, media_type, content_hash, blob_key, wrapped_key"
                + " FROM record_image WHERE record_id = ANY($1) ORDER BY record_id, index")
                .execute(Tuple.of(rows.stream().map(row -> row.getUUID("id")).toArray(UUID[]::new)))
                .await().indefinitely()
                .forEach(image -> byRecord.computeIfAbsent(image.getUUID("record_id"), id -> new ArrayList<>())
                        .add(image));
        return byRecord;
    }

    private byte[] decrypt(Scope scope, UUID recordId, Row image) {
        try {
            return records.decrypt(scope.tenant(), scope.datasetId(), recordId, image.getInteger("index"),
                    image.getString("blob_key"), image.getString("wrapped_key"));
        } catch (ImageUnreadableException e) {
            throw new ProblemException(ProblemType.STORED_DATA_UNREADABLE, "Image " + image.getInteger("index")
                    + " of record " + recordId + " cannot be read: " + e.getMessage());
        }
    }

    private static JsonNode readJson(String json) {
        try {
            return JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored messages are JSON written by the import", e);
        }
    }
}
