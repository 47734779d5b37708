package dev.loupe.gateway.api;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

import dev.loupe.contracts.dataset.v1.ChatMessage;
import dev.loupe.contracts.dataset.v1.ImageRef;
import dev.loupe.contracts.dataset.v1.Record;
import dev.loupe.support.grpc.ProtoTime;

/**
 * A record of a dataset as the REST API shows it: its metadata, never image bytes (those come from
 * {@code GET /v1/datasets/{id}/records/{recordId}/images/{index}}).
 *
 * @param clientId the id the imported line gave the record; null when it gave none
 * @param annotations boxes, captions and grounded question-answer pairs in the native format's names
 *        (docs/dataset-formats.md); null when the record has none
 * @param recordHash keyed hash over the canonical record; dataset versions list these
 * @param importId the import that stored the record
 */
@Schema(name = "DatasetRecord")
public record RecordView(String id, String object, String datasetId, String clientId, List<ImageView> images,
        List<MessageView> messages, Map<String, Object> annotations, String recordHash,
        int estimatedTokens, String importId, Instant createdAt) {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<Map<String, Object>> ANNOTATIONS = new TypeReference<>() {
    };

    /**
     * One image of a record.
     *
     * @param index position of the image in the record, 0-based, in the order of the {@code <image>} placeholders
     * @param contentHash keyed hash of the normalised image (duplicate detection, lineage); not reversible
     */
    @Schema(name = "RecordImage")
    public record ImageView(int index, String mediaType, int width, int height, long sizeBytes, String contentHash) {
        static ImageView of(ImageRef image) {
            return new ImageView(image.getIndex(), image.getMediaType(), image.getWidth(), image.getHeight(),
                    image.getSizeBytes(), image.getContentHash());
        }
    }

    /**
     * One turn of a record's conversation.
     *
     * @param role {@code system}, {@code user} or {@code assistant}
     * @param content text, with an {@code <image>} placeholder where each of the record's images goes
     */
    @Schema(name = "RecordMessage")
    public record MessageView(String role, String content) {
        static MessageView of(ChatMessage message) {
            return new MessageView(message.getRole(), message.getContent());
        }
    }

    public static RecordView of(Record record) {
        return new RecordView(record.getId(), "dataset.record", record.getDatasetId(),
                record.getClientId().isEmpty() ? null : record.getClientId(),
                record.getImagesList().stream().map(ImageView::of).toList(),
                record.getMessagesList().stream().map(MessageView::of).toList(),
                annotations(record.getAnnotationsJson()), record.getRecordHash(), record.getEstimatedTokens(),
                record.getImportId(), ProtoTime.toInstant(record.getCreatedAt()));
    }

    private static Map<String, Object> annotations(String json) {
        if (json.isEmpty()) {
            return null;
        }
        try {
            return JSON.readValue(json, ANNOTATIONS);
        } catch (JsonProcessingException e) {
            // The dataset-service writes this JSON itself; unreadable JSON is its bug, not the caller's.
            throw new IllegalStateException("the dataset-service sent annotations that are not JSON", e);
        }
    }
}
