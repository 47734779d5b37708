package dev.loupe.dataset.imports;

import java.util.ArrayList;
import java.util.List;

/**
 * A line on its way to an {@link ImportRecord}: what a format's reader could read, with the JSON pointer of each
 * part in that format, so that the checks all formats share can name the field at fault. A part that could not be
 * read leaves its section incomplete, and the checks that need that section are skipped rather than reporting
 * follow-on errors.
 */
final class Draft {
    /** A client id, or null when there is none or it was invalid. */
    String id;
    String idPointer = "/id";
    final List<Image> images = new ArrayList<>();
    /** Where a placeholder count mismatch points: the images field, or the root when the format has none. */
    String imagesPointer = "";
    boolean imagesComplete = true;
    final List<Turn> turns = new ArrayList<>();
    String messagesPointer = "/messages";
    boolean messagesComplete = true;
    Annotations annotations = Annotations.NONE;
    String expectedOutputJson;

    /**
     * One image slot.
     *
     * @param pointer the image's place in the line
     * @param ref the reference, or null when it was invalid (the slot still counts)
     */
    record Image(String pointer, ImageRef ref) {
    }

    /** One turn. */
    static final class Turn {
        final String pointer;
        Message.Role role;
        String rolePointer;
        /** The content, or null while (or because) it could not be read. */
        StringBuilder content;
        String contentPointer;
        /** The place in the line of each image placeholder of the content, in order. */
        final List<String> placeholderPointers = new ArrayList<>();
        boolean trained = true;

        Turn(String pointer) {
            this.pointer = pointer;
            this.rolePointer = pointer + "/role";
            this.contentPointer = pointer + "/content";
        }

        boolean complete() {
            return role != null && content != null;
        }

        Message toMessage() {
            return new Message(role, content.toString(), role == Message.Role.ASSISTANT && trained);
        }
    }
}
