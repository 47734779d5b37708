package dev.loupe.gateway.api;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import com.google.protobuf.Timestamp;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.common.v1.PageInfo;
import dev.loupe.contracts.dataset.v1.ChatMessage;
import dev.loupe.contracts.dataset.v1.ImageRef;
import dev.loupe.contracts.dataset.v1.Import;
import dev.loupe.contracts.dataset.v1.ImportFormat;
import dev.loupe.contracts.dataset.v1.ImportMode;
import dev.loupe.contracts.dataset.v1.ImportRejection;
import dev.loupe.contracts.dataset.v1.ImportState;
import dev.loupe.contracts.dataset.v1.ListImportRejectionsResponse;
import dev.loupe.contracts.dataset.v1.Record;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The JSON of imports and records, written as the gateway's Jackson settings write it (snake_case, ISO times). */
class ImportAndRecordViewsTest {
    private static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule())
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
    private static final Timestamp CREATED = Timestamp.newBuilder().setSeconds(1_780_000_000).build();

    @Test
    void runningImportHasNullFinishedAtAndFailureReason() {
        Import running = Import.newBuilder()
                .setId("i-1")
                .setDatasetId("d-1")
                .setFormat(ImportFormat.IMPORT_FORMAT_OPENAI)
                .setMode(ImportMode.IMPORT_MODE_ACCEPT_VALID)
                .setState(ImportState.IMPORT_STATE_RUNNING)
                .setLinesRead(3)
                .setCreatedAt(CREATED)
                .build();

        JsonNode json = JSON.valueToTree(ImportView.of(running));

        assertEquals("dataset.import", json.get("object").asText());
        assertEquals("d-1", json.get("dataset_id").asText());
        assertEquals("openai", json.get("format").asText());
        assertEquals("accept_valid", json.get("mode").asText());
        assertEquals("running", json.get("status").asText());
        assertEquals(3, json.get("lines_read").asLong());
        assertEquals(0, json.get("duplicates_skipped").asLong());
        assertTrue(json.get("failure_reason").isNull());
        assertTrue(json.get("finished_at").isNull());
        assertEquals("2026-05-28T20:26:40Z", json.get("created_at").asText());
        assertTrue(json.get("report").isNull());
    }

    @Test
    void failedImportWithItsReport() {
        Import failed = Import.newBuilder()
                .setId("i-2")
                .setFormat(ImportFormat.IMPORT_FORMAT_LLAVA)
                .setMode(ImportMode.IMPORT_MODE_ALL_OR_NOTHING)
                .setState(ImportState.IMPORT_STATE_FAILED)
                .setLinesRejected(101)
                .setFailureReason("101 lines were rejected")
                .setCreatedAt(CREATED)
                .setFinishedAt(CREATED)
                .build();
        ListImportRejectionsResponse rejections = ListImportRejectionsResponse.newBuilder()
                .addRejections(ImportRejection.newBuilder()
                        .setLine(2)
                        .setPointer("/messages/0/role")
                        .setCode("unknown_role")
                        .setMessage("role must be system, user or assistant"))
                .addRejections(ImportRejection.newBuilder().setLine(5).setCode("invalid_json").setMessage("bad"))
                .setPage(PageInfo.newBuilder().setHasMore(true).setNextAfter("2"))
                .build();

        JsonNode json = JSON.valueToTree(ImportView.of(failed, ImportView.ReportView.of(rejections)));

        assertEquals("llava", json.get("format").asText());
        assertEquals("all_or_nothing", json.get("mode").asText());
        assertEquals("failed", json.get("status").asText());
        assertEquals("101 lines were rejected", json.get("failure_reason").asText());
        assertFalse(json.get("finished_at").isNull());
        JsonNode report = json.get("report");
        assertTrue(report.get("has_more_rejections").asBoolean());
        assertEquals(2, report.get("rejected_lines").size());
        JsonNode first = report.get("rejected_lines").get(0);
        assertEquals(2, first.get("line").asLong());
        assertEquals("/messages/0/role", first.get("pointer").asText());
        assertEquals("unknown_role", first.get("code").asText());
        assertEquals("", report.get("rejected_lines").get(1).get("pointer").asText());
    }

    @Test
    void recordWithImagesMessagesAndAnnotations() {
        Record record = Record.newBuilder()
                .setId("r-1")
                .setDatasetId("d-1")
                .setClientId("cat-1")
                .addImages(ImageRef.newBuilder()
                        .setIndex(0)
                        .setMediaType("image/png")
                        .setWidth(640)
                        .setHeight(480)
                        .setSizeBytes(1234)
                        .setContentHash("h1"))
                .addMessages(ChatMessage.newBuilder().setRole("user").setContent("<image>\nWhat animal is this?"))
                .addMessages(ChatMessage.newBuilder().setRole("assistant").setContent("A cat."))
                .setAnnotationsJson("{\"boxes\":[{\"label\":\"cat\",\"box\":[0.1,0.2,0.5,0.6],\"image\":0}],"
                        + "\"captions\":[],\"grounded_qa\":[]}")
                .setRecordHash("rh")
                .setEstimatedTokens(42)
                .setImportId("i-1")
                .setCreatedAt(CREATED)
                .build();

        RecordView view = RecordView.of(record);
        JsonNode json = JSON.valueToTree(view);

        assertEquals("dataset.record", json.get("object").asText());
        assertEquals("cat-1", json.get("client_id").asText());
        JsonNode image = json.get("images").get(0);
        assertEquals(List.of("index", "media_type", "width", "height", "size_bytes", "content_hash"),
                names(image.fieldNames()));
        assertEquals(640, image.get("width").asInt());
        assertEquals("assistant", json.get("messages").get(1).get("role").asText());
        // Annotation keys are the native format's own, not renamed by the naming strategy.
        assertEquals(0.5, json.get("annotations").get("boxes").get(0).get("box").get(2).asDouble());
        assertTrue(json.get("annotations").has("grounded_qa"));
        assertEquals(42, json.get("estimated_tokens").asInt());
        assertEquals("i-1", json.get("import_id").asText());
    }

    @Test
    void recordWithoutClientIdOrAnnotationsHasNulls() {
        Record bare = Record.newBuilder().setId("r-2").setCreatedAt(CREATED).build();

        JsonNode json = JSON.valueToTree(RecordView.of(bare));

        assertTrue(json.get("client_id").isNull());
        assertTrue(json.get("annotations").isNull());
        assertEquals(0, json.get("images").size());
    }

    private static List<String> names(Iterator<String> names) {
        List<String> list = new ArrayList<>();
        names.forEachRemaining(list::add);
        return list;
    }
}
