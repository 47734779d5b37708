package dev.loupe.dataset.imports;

import java.util.Locale;
import java.util.Objects;

/**
 * One chat turn of a record.
 *
 * @param role who speaks
 * @param content the text, with one {@value #IMAGE_PLACEHOLDER} where each of the record's images goes, in order
 * @param trained whether the training loss includes this turn: true for assistant turns unless the source said
 *        {@code "weight": 0}, always false for system and user turns
 */
public record Message(Role role, String content, boolean trained) {
    /** Marks where an image goes in a content. */
    public static final String IMAGE_PLACEHOLDER = "<image>";

    /** The speakers of a chat. */
    public enum Role {
        SYSTEM, USER, ASSISTANT;

        private final String wireName = name().toLowerCase(Locale.ROOT);

        /** The name in the native and OpenAI formats: {@code system}, {@code user}, {@code assistant}. */
        public String wireName() {
            return wireName;
        }
    }

    public Message {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
        if (trained && role != Role.ASSISTANT) {
            throw new IllegalArgumentException("only assistant turns can be trained on");
        }
    }

    public static Message system(String content) {
        return new Message(Role.SYSTEM, content, false);
    }

    public static Message user(String content) {
        return new Message(Role.USER, content, false);
    }

    /** An assistant turn the model is trained on. */
    public static Message assistant(String content) {
        return new Message(Role.ASSISTANT, content, true);
    }

    /** The number of {@value #IMAGE_PLACEHOLDER} in the content. */
    public int placeholderCount() {
        return countPlaceholders(content);
    }

    static int countPlaceholders(String text) {
        int count = 0;
        for (int at = text.indexOf(IMAGE_PLACEHOLDER); at >= 0; at = text.indexOf(IMAGE_PLACEHOLDER,
                at + IMAGE_PLACEHOLDER.length())) {
            count++;
        }
        return count;
    }
}
