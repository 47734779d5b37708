package dev.loupe.engine.worker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.loupe.engine.text.ChatMessage;
import dev.loupe.engine.text.ChatTokenizer;

/**
 * One conversation to learn from, with the pictures its turns show. A turn's content holds
 * {@link ChatTokenizer#IMAGE_PLACEHOLDER} where a picture goes; the pictures are in the order of their placeholders
 * through the whole conversation.
 *
 * @param id the dataset's id of the example, named in every error about it
 * @param images as many as the turns hold placeholders
 * @param turns at least one, and at least one of them trained
 * @throws IllegalArgumentException if the parts do not fit together; the message does not repeat the id
 */
public record TrainingExample(String id, List<Image> images, List<Turn> turns) {
    private static final Pattern PLACEHOLDER = Pattern.compile(Pattern.quote(ChatTokenizer.IMAGE_PLACEHOLDER));

    public TrainingExample {
        if (id == null || id.isBlank()) {
            throw new IllegalArgumentException("id must be a non-blank string");
        }
        images = List.copyOf(images);
        turns = List.copyOf(turns);
        if (turns.isEmpty()) {
            throw new IllegalArgumentException("messages must hold at least one turn");
        }
        if (turns.stream().noneMatch(Turn::trained)) {
            throw new IllegalArgumentException("no message is a trained assistant turn: nothing to learn");
        }
        int placeholders = 0;
        for (int i = 0; i < turns.size(); i++) {
            ChatMessage message = turns.get(i).message();
            Matcher matcher = PLACEHOLDER.matcher(message.content());
            int inTurn = (int) matcher.results().count();
            if (inTurn > 0 && message.role() == ChatMessage.Role.assistant) {
                throw new IllegalArgumentException("messages[" + i + "] is an assistant turn with "
                        + ChatTokenizer.IMAGE_PLACEHOLDER + ": images go in user or system turns");
            }
            placeholders += inTurn;
        }
        if (placeholders != images.size()) {
            throw new IllegalArgumentException("the messages hold " + placeholders + " "
                    + ChatTokenizer.IMAGE_PLACEHOLDER + " placeholders but images lists " + images.size());
        }
    }

    /** The conversation as the tokenizer takes it. */
    public List<ChatMessage> messages() {
        return turns.stream().map(Turn::message).toList();
    }

    /** A picture of an example, read (encoded, PNG or JPEG) when a batch needs it. */
    public interface Image {
        /** Names the picture in errors: its file, or its id in the dataset. */
        String name();

        byte[] read() throws IOException;
    }

    /** A picture in a file. */
    public record FileImage(Path file) implements Image {
        @Override
        public String name() {
            return file.toString();
        }

        @Override
        public byte[] read() throws IOException {
            return Files.readAllBytes(file);
        }
    }

    /**
     * One turn.
     *
     * @param trained whether the loss covers it; only assistant turns can be trained. An assistant turn that is
     *        not is context the model is shown, e.g. an earlier answer it should not learn from.
     */
    public record Turn(ChatMessage message, boolean trained) {
        public Turn {
            if (message == null || message.role() == null || message.content() == null) {
                throw new IllegalArgumentException("a turn needs a role and a content");
            }
            if (trained && message.role() != ChatMessage.Role.assistant) {
                throw new IllegalArgumentException("only assistant turns can be trained, not " + message.role());
            }
        }
    }
}
