package dev.loupe.dataset.imports;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Loupe's native JSONL: one record per line with an optional {@code id}, {@code images} (archive file names,
 * {@code data:} or {@code https://} URLs), {@code messages} whose content marks images with {@code <image>} (or
 * uses {@code text} and {@code image} parts), optional {@code annotations} and an optional {@code expected_output}.
 * The format is specified in {@code docs/dataset-formats.md}.
 */
public final class LoupeJsonlImporter implements RecordImporter {
    private static final Set<String> RECORD_FIELDS = Set.of("id", "images", "messages", "annotations",
            "expected_output");
    private static final Set<String> ANNOTATION_FIELDS = Set.of("boxes", "captions", "grounded_qa");
    private static final Set<String> BOX_FIELDS = Set.of("label", "box", "image");
    private static final Set<String> CAPTION_FIELDS = Set.of("text", "image");
    private static final Set<String> QA_FIELDS = Set.of("question", "answer", "box");

    private final ImportLimits limits;
    private final JsonlReader jsonl;
    private final ChatReader chat;

    public LoupeJsonlImporter(ImportLimits limits) {
        this.limits = limits;
        this.jsonl = new JsonlReader(limits);
        this.chat = new ChatReader(ChatReader.ImageParts.NATIVE, limits);
    }

    @Override
    public ImportFormat format() {
        return ImportFormat.LOUPE;
    }

    @Override
    public void read(InputStream in, LineSink sink) throws IOException {
        jsonl.read(in, sink, this::toDraft);
    }

    private Draft toDraft(JsonNode line, ErrorCollector errors) {
        ObjectNode record = JsonFields.object(line, "", "a line", errors);
        if (record == null) {
            return null;
        }
        JsonFields.refuseUnknown(record, "", RECORD_FIELDS, "id, images, messages, annotations, expected_output",
                errors);
        Draft draft = new Draft();
        JsonNode id = JsonFields.optional(record, "id");
        if (id != null) {
            Lines.readId(id, "/id", false, draft, limits, errors);
        }
        draft.imagesPointer = record.has("images") ? "/images" : "";
        JsonNode images = JsonFields.optional(record, "images");
        if (images != null) {
            ArrayNode list = JsonFields.array(images, "/images", "images", errors);
            if (list == null) {
                draft.imagesComplete = false;
            } else {
                for (int i = 0; i < list.size(); i++) {
                    String at = Pointers.index("/images", i);
                    String reference = JsonFields.string(list.get(i), at, "an image reference", errors);
                    if (reference == null) {
                        draft.images.add(new Draft.Image(at, null));
                    } else {
                        Lines.addImage(reference, at, at, draft, limits, errors);
                    }
                }
            }
        }
        chat.read(record, draft, errors);
        JsonNode annotations = JsonFields.optional(record, "annotations");
        if (annotations != null) {
            readAnnotations(annotations, draft, errors);
        }
        JsonNode expected = JsonFields.optional(record, "expected_output");
        if (expected != null) {
            try {
                draft.expectedOutputJson = jsonl.mapper().writeValueAsString(expected);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("a parsed JSON tree always serialises", e);
            }
        }
        return draft;
    }

    private void readAnnotations(JsonNode node, Draft draft, ErrorCollector errors) {
        ObjectNode annotations = JsonFields.object(node, "/annotations", "annotations", errors);
        if (annotations == null) {
            return;
        }
        JsonFields.refuseUnknown(annotations, "/annotations", ANNOTATION_FIELDS, "boxes, captions, grounded_qa",
                errors);
        int imageCount = draft.imagesComplete ? draft.images.size() : Integer.MAX_VALUE;
        List<BoundingBox> boxes = new ArrayList<>();
        boolean boxesComplete = true;
        ArrayNode boxList = list(annotations, "boxes", errors);
        for (int i = 0; boxList != null && i < boxList.size(); i++) {
            BoundingBox box = readBox(boxList.get(i), Pointers.index("/annotations/boxes", i), imageCount, errors);
            if (box == null) {
                boxesComplete = false;
            } else {
                boxes.add(box);
            }
        }
        List<Caption> captions = new ArrayList<>();
        ArrayNode captionList = list(annotations, "captions", errors);
        for (int i = 0; captionList != null && i < captionList.size(); i++) {
            Caption caption = readCaption(captionList.get(i), Pointers.index("/annotations/captions", i), imageCount,
                    errors);
            if (caption != null) {
                captions.add(caption);
            }
        }
        List<GroundedQa> qas = new ArrayList<>();
        ArrayNode qaList = list(annotations, "grounded_qa", errors);
        int boxCount = boxList == null ? 0 : boxesComplete ? boxes.size() : Integer.MAX_VALUE;
        for (int i = 0; qaList != null && i < qaList.size(); i++) {
            GroundedQa qa = readQa(qaList.get(i), Pointers.index("/annotations/grounded_qa", i), boxCount, errors);
            if (qa != null) {
                qas.add(qa);
            }
        }
        if (errors.isEmpty()) {
            draft.annotations = new Annotations(boxes, captions, qas);
        }
    }

    private static ArrayNode list(ObjectNode annotations, String field, ErrorCollector errors) {
        JsonNode value = JsonFields.optional(annotations, field);
        return value == null
                ? null
                : JsonFields.array(value, Pointers.field("/annotations", field), field, errors);
    }

    private static BoundingBox readBox(JsonNode node, String at, int imageCount, ErrorCollector errors) {
        ObjectNode box = JsonFields.object(node, at, "a box", errors);
        if (box == null) {
            return null;
        }
        JsonFields.refuseUnknown(box, at, BOX_FIELDS, "label, box, image", errors);
        String label = nonBlankString(box, "label", at, errors);
        Integer image = imageIndex(box, at, imageCount, errors);
        JsonNode coordinatesNode = JsonFields.required(box, "box", at, errors);
        ArrayNode coordinates = coordinatesNode == null
                ? null
                : JsonFields.array(coordinatesNode, at + "/box", "box", errors);
        if (coordinates == null) {
            return null;
        }
        if (coordinates.size() != 4) {
            errors.add(ImportErrorCode.WRONG_TYPE, at + "/box",
                    "a box is [x0, y0, x1, y1]: four numbers, not " + coordinates.size());
            return null;
        }
        double[] v = new double[4];
        boolean inRange = true;
        for (int k = 0; k < 4; k++) {
            JsonNode c = coordinates.get(k);
            String cAt = Pointers.index(at + "/box", k);
            if (!c.isNumber()) {
                errors.add(ImportErrorCode.WRONG_TYPE, cAt, "a box coordinate must be a number, not "
                        + JsonFields.typeName(c));
                return null;
            }
            v[k] = c.doubleValue();
            if (!BoundingBox.inUnit(v[k])) {
                errors.add(ImportErrorCode.BOX_OUT_OF_RANGE, cAt, "box coordinate " + c.asText()
                        + " is outside [0, 1]; coordinates are fractions of the image's width and height");
                inRange = false;
            }
        }
        if (inRange && (v[0] >= v[2] || v[1] >= v[3])) {
            errors.add(ImportErrorCode.BOX_OUT_OF_RANGE, at + "/box",
                    "a box needs x0 < x1 and y0 < y1 (it is [x0, y0, x1, y1], not [x, y, width, height])");
            inRange = false;
        }
        if (!inRange || label == null || image == null) {
            return null;
        }
        return new BoundingBox(image, label, v[0], v[1], v[2], v[3]);
    }

    private static Caption readCaption(JsonNode node, String at, int imageCount, ErrorCollector errors) {
        ObjectNode caption = JsonFields.object(node, at, "a caption", errors);
        if (caption == null) {
            return null;
        }
        JsonFields.refuseUnknown(caption, at, CAPTION_FIELDS, "text, image", errors);
        String text = nonBlankString(caption, "text", at, errors);
        Integer image = imageIndex(caption, at, imageCount, errors);
        return text == null || image == null ? null : new Caption(image, text);
    }

    private static GroundedQa readQa(JsonNode node, String at, int boxCount, ErrorCollector errors) {
        ObjectNode qa = JsonFields.object(node, at, "a grounded QA pair", errors);
        if (qa == null) {
            return null;
        }
        JsonFields.refuseUnknown(qa, at, QA_FIELDS, "question, answer, box", errors);
        String question = nonBlankString(qa, "question", at, errors);
        String answer = nonBlankString(qa, "answer", at, errors);
        JsonNode boxNode = JsonFields.required(qa, "box", at, errors);
        Integer box = boxNode == null ? null : JsonFields.index(boxNode, at + "/box", "box", errors);
        if (box != null && (box < 0 || box >= boxCount)) {
            errors.add(ImportErrorCode.INVALID_REFERENCE, at + "/box", "box " + box
                    + " does not exist; it is a 0-based index into annotations.boxes");
            box = null;
        }
        return question == null || answer == null || box == null ? null : new GroundedQa(question, answer, box);
    }

    /** The optional {@code image} index of an annotation: 0 when absent, and it must name one of the images. */
    private static Integer imageIndex(ObjectNode annotation, String at, int imageCount, ErrorCollector errors) {
        JsonNode node = JsonFields.optional(annotation, "image");
        Integer image = node == null ? Integer.valueOf(0) : JsonFields.index(node, at + "/image", "image", errors);
        if (image != null && (image < 0 || image >= imageCount)) {
            errors.add(ImportErrorCode.INVALID_REFERENCE, node == null ? at : at + "/image",
                    imageCount == 0
                            ? "the record has no image to annotate"
                            : "image " + image + " does not exist; it is a 0-based index into images");
            return null;
        }
        return image;
    }

    private static String nonBlankString(ObjectNode object, String field, String at, ErrorCollector errors) {
        JsonNode node = JsonFields.required(object, field, at, errors);
        String value = node == null ? null : JsonFields.string(node, Pointers.field(at, field), field, errors);
        if (value != null && value.isBlank()) {
            errors.add(ImportErrorCode.INVALID_VALUE, Pointers.field(at, field), field + " must not be empty");
            return null;
        }
        return value;
    }
}
