package dev.loupe.dataset.imports;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One example, as every import format turns into it: the same logical example gives an equal record whichever
 * format it came in.
 *
 * @param clientId the id the line gave, if any; unique within one import
 * @param images the record's images, in the order of the {@code <image>} placeholders of its messages
 * @param messages the chat turns: optional system, then user and assistant alternating, ending with assistant
 * @param annotations boxes, captions, grounded QA ({@link Annotations#NONE} when none)
 * @param expectedOutputJson the expected structured output as compact JSON text, if the line gave one; it is checked
 *        against the dataset's JSON Schema later, not here
 */
public record ImportRecord(Optional<String> clientId, List<ImageRef> images, List<Message> messages,
        Annotations annotations, Optional<String> expectedOutputJson) {

    public ImportRecord {
        Objects.requireNonNull(clientId, "clientId");
        images = List.copyOf(images);
        messages = List.copyOf(messages);
        Objects.requireNonNull(annotations, "annotations");
        Objects.requireNonNull(expectedOutputJson, "expectedOutputJson");
        if (messages.isEmpty()) {
            throw new IllegalArgumentException("a record needs messages");
        }
        int placeholders = 0;
        for (Message message : messages) {
            placeholders += message.placeholderCount();
        }
        if (placeholders != images.size()) {
            throw new IllegalArgumentException(
                    placeholders + " image placeholders but " + images.size() + " images");
        }
        for (BoundingBox box : annotations.boxes()) {
            if (box.image() >= images.size()) {
                throw new IllegalArgumentException("a box points at image " + box.image() + " of " + images.size());
            }
        }
        for (Caption caption : annotations.captions()) {
            if (caption.image() >= images.size()) {
                throw new IllegalArgumentException(
                        "a caption points at image " + caption.image() + " of " + images.size());
            }
        }
    }

    /** A record with only images and messages. */
    public static ImportRecord of(List<ImageRef> images, List<Message> messages) {
        return new ImportRecord(Optional.empty(), images, messages, Annotations.NONE, Optional.empty());
    }
}
