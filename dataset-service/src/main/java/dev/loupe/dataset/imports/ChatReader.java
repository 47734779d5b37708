package dev.loupe.dataset.imports;

import java.util.Locale;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Reads the {@code messages} array the native and OpenAI formats share: {@code role}, {@code content} (a string or
 * a list of parts, joined with a line feed between consecutive parts) and an optional {@code weight} on assistant
 * turns. The formats differ only in their image parts.
 */
final class ChatReader {
    /** How a format writes images inside a content. */
    enum ImageParts {
        /** {@code {"type":"image"}} stands for the next entry of the record's {@code images}; text may hold placeholders. */
        NATIVE,
        /** {@code {"type":"image_url","image_url":{"url":...}}} carries the image itself; text must not hold placeholders. */
        OPENAI
    }

    static final String PART_SEPARATOR = "\n";
    private static final Set<String> MESSAGE_FIELDS = Set.of("role", "content", "weight");
    private static final Set<String> TEXT_PART_FIELDS = Set.of("type", "text");
    private static final Set<String> NATIVE_IMAGE_PART_FIELDS = Set.of("type");
    private static final Set<String> OPENAI_IMAGE_PART_FIELDS = Set.of("type", "image_url");
    private static final Set<String> IMAGE_URL_FIELDS = Set.of("url", "detail");
    private static final Set<String> DETAILS = Set.of("auto", "low", "high");

    private final ImageParts style;
    private final ImportLimits limits;

    ChatReader(ImageParts style, ImportLimits limits) {
        this.style = style;
        this.limits = limits;
    }

    void read(ObjectNode record, Draft draft, ErrorCollector errors) {
        JsonNode value = JsonFields.required(record, "messages", "", errors);
        ArrayNode messages = value == null ? null : JsonFields.array(value, "/messages", "messages", errors);
        if (messages == null) {
            draft.messagesComplete = false;
            return;
        }
        for (int i = 0; i < messages.size(); i++) {
            Draft.Turn turn = new Draft.Turn(Pointers.index("/messages", i));
            draft.turns.add(turn);
            readTurn(messages.get(i), turn, draft, errors);
            if (!turn.complete()) {
                draft.messagesComplete = false;
            }
        }
    }

    private void readTurn(JsonNode node, Draft.Turn turn, Draft draft, ErrorCollector errors) {
        ObjectNode message = JsonFields.object(node, turn.pointer, "a message", errors);
        if (message == null) {
            return;
        }
        JsonFields.refuseUnknown(message, turn.pointer, MESSAGE_FIELDS, "role, content, weight", errors);
        JsonNode role = JsonFields.required(message, "role", turn.pointer, errors);
        if (role != null) {
            String name = JsonFields.string(role, turn.rolePointer, "the role", errors);
            if (name != null) {
                if (Lines.ROLES.contains(name)) {
                    turn.role = Message.Role.valueOf(name.toUpperCase(Locale.ROOT));
                } else {
                    errors.add(ImportErrorCode.INVALID_ROLE, turn.rolePointer,
                            "the role " + Text.quote(name) + " is not one of system, user, assistant");
                }
            }
        }
        JsonNode content = JsonFields.required(message, "content", turn.pointer, errors);
        if (content != null) {
            if (content.isTextual()) {
                turn.content = new StringBuilder();
                Lines.appendText(turn, content.textValue(), turn.contentPointer, style == ImageParts.NATIVE, errors);
            } else if (content instanceof ArrayNode parts) {
                readParts(parts, turn, draft, errors);
            } else {
                errors.add(ImportErrorCode.WRONG_TYPE, turn.contentPointer,
                        "the content must be a string or an array of parts, not " + JsonFields.typeName(content));
            }
        }
        JsonNode weight = JsonFields.optional(message, "weight");
        if (weight != null) {
            String at = turn.pointer + "/weight";
            if (!weight.isIntegralNumber() || (weight.longValue() != 0 && weight.longValue() != 1)) {
                errors.add(ImportErrorCode.INVALID_VALUE, at, "the weight must be 0 or 1");
            } else if (turn.role != null && turn.role != Message.Role.ASSISTANT) {
                errors.add(ImportErrorCode.INVALID_VALUE, at, "only assistant turns can have a weight");
            } else {
                turn.trained = weight.longValue() == 1;
            }
        }
    }

    private void readParts(ArrayNode parts, Draft.Turn turn, Draft draft, ErrorCollector errors) {
        StringBuilder content = new StringBuilder();
        turn.content = content;
        boolean complete = true;
        for (int j = 0; j < parts.size(); j++) {
            String at = Pointers.index(turn.contentPointer, j);
            ObjectNode part = JsonFields.object(parts.get(j), at, "a content part", errors);
            if (part == null) {
                complete = false;
                continue;
            }
            JsonNode typeNode = JsonFields.required(part, "type", at, errors);
            String type = typeNode == null ? null : JsonFields.string(typeNode, at + "/type", "the type", errors);
            if (type == null) {
                complete = false;
                continue;
            }
            if (j > 0) {
                content.append(PART_SEPARATOR);
            }
            if (type.equals("text")) {
                JsonFields.refuseUnknown(part, at, TEXT_PART_FIELDS, "type, text", errors);
                JsonNode text = JsonFields.required(part, "text", at, errors);
                String value = text == null ? null : JsonFields.string(text, at + "/text", "the text", errors);
                if (value == null) {
                    complete = false;
                } else {
                    Lines.appendText(turn, value, at + "/text", false, errors);
                }
            } else if (style == ImageParts.NATIVE && type.equals("image")) {
                JsonFields.refuseUnknown(part, at, NATIVE_IMAGE_PART_FIELDS, "type", errors);
                Lines.appendImagePart(turn, at);
            } else if (style == ImageParts.OPENAI && type.equals("image_url")) {
                JsonFields.refuseUnknown(part, at, OPENAI_IMAGE_PART_FIELDS, "type, image_url", errors);
                if (!readImageUrl(part, at, turn, draft, errors)) {
                    complete = false;
                }
            } else {
                errors.add(ImportErrorCode.INVALID_VALUE, at + "/type", "the part type " + Text.quote(type)
                        + " is not supported; use "
                        + (style == ImageParts.NATIVE ? "text or image" : "text or image_url")
                        + (style == ImageParts.NATIVE && type.equals("image_url")
                                ? " (in the native format the image itself goes in the record's images)"
                                : ""));
                complete = false;
            }
        }
        if (!complete) {
            turn.content = null;
        }
    }

    private boolean readImageUrl(ObjectNode part, String at, Draft.Turn turn, Draft draft, ErrorCollector errors) {
        JsonNode imageUrlNode = JsonFields.required(part, "image_url", at, errors);
        String objectAt = at + "/image_url";
        ObjectNode imageUrl = imageUrlNode == null
                ? null
                : JsonFields.object(imageUrlNode, objectAt, "image_url", errors);
        if (imageUrl == null) {
            return false;
        }
        JsonFields.refuseUnknown(imageUrl, objectAt, IMAGE_URL_FIELDS, "url, detail", errors);
        JsonNode detail = JsonFields.optional(imageUrl, "detail");
        if (detail != null && !(detail.isTextual() && DETAILS.contains(detail.textValue()))) {
            errors.add(ImportErrorCode.INVALID_VALUE, objectAt + "/detail", "detail must be auto, low or high");
        }
        JsonNode urlNode = JsonFields.required(imageUrl, "url", objectAt, errors);
        String url = urlNode == null ? null : JsonFields.string(urlNode, objectAt + "/url", "the url", errors);
        if (url == null) {
            return false;
        }
        Lines.addImage(url, objectAt + "/url", at, draft, limits, errors);
        Lines.appendImagePart(turn, at);
        return true;
    }
}
