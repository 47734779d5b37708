package dev.loupe.dataset.service;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.loupe.support.error.ProblemException;
import dev.loupe.support.id.Ids;

/**
 * Statistics of a dataset's current records or of a frozen version: what a data steward checks before training
 * (image sizes and shapes, text lengths, annotations, labels) and what the imports behind those records rejected.
 * Records are read in pages of {@value #PAGE}, so memory stays flat however large the dataset. Blocking: called on
 * worker threads.
 */
@ApplicationScoped
public class StatsService {
    private static final int PAGE = 500;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A histogram over fixed bucket upper bounds; the last count is for values above the last bound. */
    public static final class Histogram {
        private final double[] upperBounds;
        private final long[] counts;

        Histogram(double... upperBounds) {
            this.upperBounds = upperBounds;
            this.counts = new long[upperBounds.length + 1];
        }

        void add(double value) {
            int bucket = 0;
            while (bucket < upperBounds.length && value > upperBounds[bucket]) {
                bucket++;
            }
            counts[bucket]++;
        }

        public double[] upperBounds() {
            return upperBounds.clone();
        }

        public long[] counts() {
            return counts.clone();
        }
    }

    /** The statistics; maps are sorted by key. */
    public record Stats(long recordCount, long imageCount, Histogram imagesPerRecord, Histogram imageWidth,
            Histogram imageHeight, Histogram imageAspectRatio, Histogram imageBytes, Histogram estimatedTokens,
            Histogram textCharacters, Histogram turnsPerRecord, Map<String, Long> mediaTypes,
            Map<String, Long> annotationTypes, Map<String, Long> boxLabels, long duplicatesSkipped,
            long linesRejected, Map<String, Long> rejectedLinesByCode) {
    }

    private final Pool pool;
    private final RecordService records;

    public StatsService(Pool pool, RecordService records) {
        this.pool = pool;
        this.records = records;
    }

    /** Statistics of the dataset's current records, or of a version's when {@code versionId} is not empty. */
    public Stats stats(String tenant, String datasetId, String versionId) {
        UUID dataset = records.requireDataset(tenant, datasetId).await().indefinitely();
        UUID version = null;
        if (!versionId.isEmpty()) {
            version = Ids.parse(versionId).orElseThrow(() -> ProblemException.notFound("version", versionId));
            boolean found = pool.preparedQuery("SELECT 1 FROM dataset_version WHERE id = $1 AND dataset_id = $2")
                    .execute(Tuple.of(version, dataset)).await().indefinitely().rowCount() > 0;
            if (!found) {
                throw ProblemException.notFound("version", versionId);
            }
        }
        Stats stats = new Stats(0, 0, new Histogram(0, 1, 2, 3, 5, 10), new Histogram(64, 128, 256, 512, 1024,
                2048, 4096, 8192), new Histogram(64, 128, 256, 512, 1024, 2048, 4096, 8192),
                new Histogram(0.25, 0.5, 0.75, 0.95, 1.05, 1.34, 1.78, 2, 4),
                new Histogram(16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20),
                new Histogram(128, 256, 512, 1024, 2048, 4096, 8192, 16384),
                new Histogram(64, 256, 1024, 4096, 16384, 65536), new Histogram(1, 2, 3, 4, 6, 10, 20),
                new TreeMap<>(), new TreeMap<>(), new TreeMap<>(), 0, 0, new TreeMap<>());
        long recordCount = 0;
        long imageCount = 0;
        Set<UUID> imports = new HashSet<>();
        String cursor = version == null ? new UUID(0, 0).toString() : "-1";
        while (true) {
            List<Row> page = page(dataset, version, cursor);
            if (page.isEmpty()) {
                break;
            }
            for (Row row : page) {
                recordCount++;
                imports.add(row.getUUID("import_id"));
                stats.estimatedTokens().add(row.getInteger("estimated_tokens"));
                addText(stats, row.getString("messages_json"));
                addAnnotations(stats, row.getString("annotations_json"), row.getString("expected_output_json"));
                int images = 0;
                JsonArray imageRows = row.getJsonArray("images");
                for (int i = 0; i < imageRows.size(); i++) {
                    JsonObject fields = imageRows.getJsonObject(i);
                    images++;
                    int width = fields.getInteger("width");
                    int height = fields.getInteger("height");
                    stats.imageWidth().add(width);
                    stats.imageHeight().add(height);
                    stats.imageAspectRatio().add((double) width / height);
                    stats.imageBytes().add(fields.getLong("size_bytes"));
                    stats.mediaTypes().merge(fields.getString("media_type"), 1L, Long::sum);
                }
                imageCount += images;
                stats.imagesPerRecord().add(images);
            }
            Row last = page.get(page.size() - 1);
            cursor = version == null ? last.getUUID("id").toString() : Integer.toString(last.getInteger("position"));
        }
        long duplicates = 0;
        long rejected = 0;
        // The current records' imports are every import of the dataset (the failed ones' rejections too); a
        // version's are the imports its records came from.
        String importFilter = version == null ? "dataset_id = $1" : "id = ANY($2)";
        List<Row> importRows = new ArrayList<>();
        pool.preparedQuery("SELECT duplicates_skipped, lines_rejected, rejections_by_code FROM dataset_import"
                + " WHERE " + importFilter + " AND state <> 'running'")
                .execute(version == null ? Tuple.of(dataset) : Tuple.of(dataset, imports.toArray(UUID[]::new)))
                .await().indefinitely().forEach(importRows::add);
        for (Row row : importRows) {
            duplicates += row.getLong("duplicates_skipped");
            rejected += row.getLong("lines_rejected");
            JsonNode counts = readJson(row.getString("rejections_by_code"));
            counts.fields().forEachRemaining(entry -> stats.rejectedLinesByCode().merge(entry.getKey(),
                    entry.getValue().asLong(), Long::sum));
        }
        return new Stats(recordCount, imageCount, stats.imagesPerRecord(), stats.imageWidth(), stats.imageHeight(),
                stats.imageAspectRatio(), stats.imageBytes(), stats.estimatedTokens(), stats.textCharacters(),
                stats.turnsPerRecord(), stats.mediaTypes(), stats.annotationTypes(), stats.boxLabels(), duplicates,
                rejected, stats.rejectedLinesByCode());
    }

    /** The next page of records with their images' metadata as JSON, after the cursor (an id or a position). */
    private List<Row> page(UUID dataset, UUID version, String cursor) {
        String images = ", (SELECT coalesce(json_agg(json_build_object('width', m.width, 'height', m.height,"
                + " 'size_bytes', m.size_bytes, 'media_type', m.media_type)), '[]') FROM record_image m"
                + " WHERE m.record_id = r.id) AS images";
        List<Row> rows = new ArrayList<>();
        if (version == null) {
            pool.preparedQuery("SELECT r.id, r.import_id, r.estimated_tokens, r.messages_json, r.annotations_json,"
                    + " r.expected_output_json" + images + " FROM dataset_record r JOIN dataset_import i"
                    + " ON i.id = r.import_id AND i.state = 'succeeded' WHERE r.dataset_id = $1 AND r.id > $2"
                    + " ORDER BY r.id LIMIT $3")
                    .execute(Tuple.of(dataset, UUID.fromString(cursor), PAGE))
                    .await().indefinitely().forEach(rows::add);
        } else {
            pool.preparedQuery("SELECT v.position, r.id, r.import_id, r.estimated_tokens, r.messages_json,"
                    + " r.annotations_json, r.expected_output_json" + images + " FROM version_record v"
                    + " JOIN dataset_record r ON r.id = v.record_id WHERE v.version_id = $1 AND v.position > $2"
                    + " ORDER BY v.position LIMIT $3")
                    .execute(Tuple.of(version, Integer.parseInt(cursor), PAGE))
                    .await().indefinitely().forEach(rows::add);
        }
        return rows;
    }

    private static void addText(Stats stats, String messagesJson) {
        JsonNode messages = readJson(messagesJson);
        long characters = 0;
        for (JsonNode message : messages) {
            characters += message.path("content").asText().length();
        }
        stats.textCharacters().add(characters);
        stats.turnsPerRecord().add(messages.size());
    }

    private static void addAnnotations(Stats stats, String annotationsJson, String expectedOutputJson) {
        if (!expectedOutputJson.isEmpty()) {
            stats.annotationTypes().merge("expected_output", 1L, Long::sum);
        }
        if (annotationsJson.isEmpty()) {
            return;
        }
        JsonNode annotations = readJson(annotationsJson);
        for (String type : List.of("boxes", "captions", "grounded_qa")) {
            if (annotations.path(type).size() > 0) {
                stats.annotationTypes().merge(type, 1L, Long::sum);
            }
        }
        for (JsonNode box : annotations.path("boxes")) {
            stats.boxLabels().merge(box.path("label").asText(), 1L, Long::sum);
        }
    }

    private static JsonNode readJson(String json) {
        try {
            return JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored JSON is written by the import", e);
        }
    }
}
