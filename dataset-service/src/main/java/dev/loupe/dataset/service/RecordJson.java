package dev.loupe.dataset.service;

import java.util.List;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.loupe.dataset.imports.Annotations;
import dev.loupe.dataset.imports.BoundingBox;
import dev.loupe.dataset.imports.Caption;
import dev.loupe.dataset.imports.GroundedQa;
import dev.loupe.dataset.imports.ImportRecord;
import dev.loupe.dataset.imports.Message;

/**
 * The stored JSON of a record's parts, in the native format's names (docs/dataset-formats.md), and the canonical
 * bytes its keyed record hash covers. Keys are written in a fixed order, so equal records give equal text.
 */
final class RecordJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private RecordJson() {
    }

    static String messages(List<Message> messages) {
        ArrayNode array = JSON.createArrayNode();
        for (Message message : messages) {
            ObjectNode node = array.addObject().put("role", message.role().wireName()).put("content",
                    message.content());
            if (!message.trained()) {
                node.put("weight", 0);
            }
        }
        return write(array);
    }

    static String annotations(Annotations annotations) {
        if (annotations.isEmpty()) {
            return "";
        }
        ObjectNode node = JSON.createObjectNode();
        ArrayNode boxes = node.putArray("boxes");
        for (BoundingBox box : annotations.boxes()) {
            ObjectNode entry = boxes.addObject().put("label", box.label());
            entry.putArray("box").add(box.x0()).add(box.y0()).add(box.x1()).add(box.y1());
            entry.put("image", box.image());
        }
        ArrayNode captions = node.putArray("captions");
        for (Caption caption : annotations.captions()) {
            captions.addObject().put("text", caption.text()).put("image", caption.image());
        }
        ArrayNode groundedQa = node.putArray("grounded_qa");
        for (GroundedQa qa : annotations.groundedQa()) {
            groundedQa.addObject().put("question", qa.question()).put("answer", qa.answer()).put("box", qa.box());
        }
        return write(node);
    }

    /** What the record hash covers: every stored part of the record, images by their keyed content hashes. */
    static String canonical(ImportRecord record, List<String> imageHashes) {
        ObjectNode node = JSON.createObjectNode();
        node.put("domain", "loupe.dataset.record.v1");
        ArrayNode images = node.putArray("images");
        imageHashes.forEach(images::add);
        node.put("messages", messages(record.messages()));
        node.put("annotations", annotations(record.annotations()));
        node.put("expected_output", record.expectedOutputJson().orElse(""));
        return write(node);
    }

    private static String write(Object node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree always writes", e);
        }
    }
}
