package dev.loupe.dataset.imports;

import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

/** Reading steps the formats share: ids, image references, text content. */
final class Lines {
    /** Tokens of Loupe's chat template (vlm-engine's {@code ChatTokenizer}) that text must not spell. */
    static final List<String> RESERVED_TOKENS = List.of("<|im_start|>", "<|im_end|>", "<pad>");
    /** Role names of the native and OpenAI formats. */
    static final Set<String> ROLES = Set.of("system", "user", "assistant");

    private Lines() {
    }

    /** Reads a client id: a string (or, where the format allows, an integer) that is short and printable. */
    static void readId(JsonNode value, String pointer, boolean integersAllowed, Draft draft, ImportLimits limits,
            ErrorCollector errors) {
        draft.idPointer = pointer;
        String id;
        if (value.isTextual()) {
            id = value.textValue();
        } else if (integersAllowed && value.isIntegralNumber()) {
            id = value.bigIntegerValue().toString();
        } else {
            errors.add(ImportErrorCode.WRONG_TYPE, pointer,
                    "the id must be a string" + (integersAllowed ? " or an integer" : "") + ", not "
                            + JsonFields.typeName(value));
            return;
        }
        if (id.isBlank()) {
            errors.add(ImportErrorCode.INVALID_VALUE, pointer, "the id must not be empty; leave it out instead");
            return;
        }
        if (id.length() > limits.maxIdLength()) {
            errors.add(ImportErrorCode.INVALID_VALUE, pointer,
                    "the id is longer than " + limits.maxIdLength() + " characters");
            return;
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                errors.add(ImportErrorCode.INVALID_VALUE, pointer, "the id holds a control character");
                return;
            }
        }
        draft.id = id;
    }

    /** Adds one image slot, valid or not. */
    static void addImage(String reference, String referencePointer, String slotPointer, Draft draft,
            ImportLimits limits, ErrorCollector errors) {
        ImageRef ref = null;
        try {
            ref = ImageReferences.parse(reference, limits.maxImageBytes());
        } catch (InvalidImageReferenceException e) {
            errors.add(e.code(), referencePointer, e.getMessage());
        }
        draft.images.add(new Draft.Image(slotPointer, ref));
    }

    /**
     * Appends text to a turn's content. Where a format marks images with placeholders, each {@code <image>} of the
     * text is one; elsewhere the text must not spell it.
     */
    static void appendText(Draft.Turn turn, String text, String pointer, boolean placeholders,
            ErrorCollector errors) {
        for (String token : RESERVED_TOKENS) {
            if (text.contains(token)) {
                errors.add(ImportErrorCode.RESERVED_TOKEN, pointer,
                        "the text contains " + token + ", a token reserved by the chat template");
            }
        }
        int count = Message.countPlaceholders(text);
        if (placeholders) {
            for (int i = 0; i < count; i++) {
                turn.placeholderPointers.add(pointer);
            }
        } else if (count > 0) {
            errors.add(ImportErrorCode.RESERVED_TOKEN, pointer, "the text contains " + Message.IMAGE_PLACEHOLDER
                    + ", which stands for an image; in this format images are given as parts of their own");
        }
        turn.content.append(text);
    }

    /** Appends an image placeholder for an image part. */
    static void appendImagePart(Draft.Turn turn, String partPointer) {
        turn.placeholderPointers.add(partPointer);
        turn.content.append(Message.IMAGE_PLACEHOLDER);
    }
}
