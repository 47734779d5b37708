package dev.loupe.dataset.imports;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The checks every format shares, run on a {@link Draft} once its format's reader is done with it. */
final class RecordChecks {
    private final ImportLimits limits;
    private final TokenEstimator tokens;

    RecordChecks(ImportLimits limits) {
        this.limits = limits;
        this.tokens = new TokenEstimator(limits);
    }

    /** The record, or null when the line has errors (reported, together with the reader's, to {@code errors}). */
    ImportRecord check(Draft draft, ErrorCollector errors) {
        if (draft.messagesComplete) {
            checkRoleOrder(draft, errors);
        }
        int placeholders = 0;
        for (Draft.Turn turn : draft.turns) {
            if (turn.content != null && turn.content.toString().isBlank()) {
                errors.add(ImportErrorCode.EMPTY_CONTENT, turn.contentPointer, "the content is empty");
            }
            placeholders += turn.placeholderPointers.size();
            if (turn.role == Message.Role.ASSISTANT) {
                for (String at : turn.placeholderPointers) {
                    errors.add(ImportErrorCode.IMAGE_IN_ASSISTANT_TURN, at,
                            "an assistant turn cannot hold an image; images go in user turns");
                }
            } else if (turn.role == Message.Role.SYSTEM) {
                for (String at : turn.placeholderPointers) {
                    errors.add(ImportErrorCode.IMAGE_IN_SYSTEM_TURN, at,
                            "a system turn cannot hold an image; images go in user turns");
                }
            }
        }
        if (draft.images.size() > limits.maxImagesPerRecord()) {
            errors.add(ImportErrorCode.TOO_MANY_IMAGES, draft.images.get(limits.maxImagesPerRecord()).pointer(),
                    "the record has " + draft.images.size() + " images; at most " + limits.maxImagesPerRecord()
                            + " are allowed");
        }
        if (draft.imagesComplete && draft.messagesComplete && placeholders != draft.images.size()) {
            errors.add(ImportErrorCode.PLACEHOLDER_COUNT_MISMATCH, draft.imagesPointer,
                    "the messages have " + placeholders + " " + Message.IMAGE_PLACEHOLDER + " placeholder"
                            + (placeholders == 1 ? "" : "s") + " but the record has " + draft.images.size()
                            + " image" + (draft.images.size() == 1 ? "" : "s") + "; each image needs exactly one");
        }
        if (!draft.messagesComplete) {
            return null;
        }
        List<Message> messages = new ArrayList<>(draft.turns.size());
        for (Draft.Turn turn : draft.turns) {
            messages.add(turn.toMessage());
        }
        long estimate = tokens.estimate(messages);
        if (estimate > limits.maxSequenceTokens()) {
            errors.add(ImportErrorCode.SEQUENCE_TOO_LONG, draft.messagesPointer,
                    "the record is about " + estimate + " tokens long (text at " + ImportLimits.BYTES_PER_TOKEN
                            + " bytes a token, " + limits.imageTokens() + " an image, " + limits.tokensPerMessage()
                            + " a turn); the maximum sequence length is " + limits.maxSequenceTokens());
        }
        if (!errors.isEmpty()) {
            return null;
        }
        List<ImageRef> images = new ArrayList<>(draft.images.size());
        for (Draft.Image image : draft.images) {
            images.add(image.ref());
        }
        return new ImportRecord(Optional.ofNullable(draft.id), images, messages, draft.annotations,
                Optional.ofNullable(draft.expectedOutputJson));
    }

    private static String article(Message.Role role) {
        return (role == Message.Role.ASSISTANT ? "an " : "a ") + role.wireName();
    }

    /**
     * Optional system turn first, then user and assistant alternating, starting with user and ending with
     * assistant. Only the first break of the rule is reported: after it, every later turn would be "wrong".
     */
    private static void checkRoleOrder(Draft draft, ErrorCollector errors) {
        List<Draft.Turn> turns = draft.turns;
        if (turns.isEmpty()) {
            errors.add(ImportErrorCode.ROLE_ORDER, draft.messagesPointer,
                    "the conversation is empty; it needs a user turn followed by an assistant turn");
            return;
        }
        int first = turns.get(0).role == Message.Role.SYSTEM ? 1 : 0;
        Message.Role expected = Message.Role.USER;
        for (int i = first; i < turns.size(); i++) {
            Draft.Turn turn = turns.get(i);
            if (turn.role != expected) {
                String why = turn.role == Message.Role.SYSTEM
                        ? "a system turn may only come first"
                        : i == first
                                ? "the conversation must start with a user turn (after an optional system turn)"
                                : "a " + expected.wireName() + " turn must follow the "
                                        + turns.get(i - 1).role.wireName() + " turn";
                errors.add(ImportErrorCode.ROLE_ORDER, turn.rolePointer,
                        "expected a " + expected.wireName() + " turn here, found " + turn.role.wireName() + ": " + why);
                return;
            }
            expected = expected == Message.Role.USER ? Message.Role.ASSISTANT : Message.Role.USER;
        }
        Draft.Turn last = turns.get(turns.size() - 1);
        if (last.role != Message.Role.ASSISTANT) {
            errors.add(ImportErrorCode.ROLE_ORDER, turns.size() == first ? draft.messagesPointer : last.rolePointer,
                    "the conversation must end with an assistant turn, the one the model learns to give");
        }
    }
}
