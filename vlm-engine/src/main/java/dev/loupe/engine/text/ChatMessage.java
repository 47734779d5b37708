package dev.loupe.engine.text;

/**
 * One turn of a conversation. {@code content} holds {@link ChatTokenizer#IMAGE_PLACEHOLDER} where an image goes.
 */
public record ChatMessage(Role role, String content) {

    public enum Role {
        system, user, assistant
    }

    public static ChatMessage system(String content) {
        return new ChatMessage(Role.system, content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage(Role.user, content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage(Role.assistant, content);
    }
}
