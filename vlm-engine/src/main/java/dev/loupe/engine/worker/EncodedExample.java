package dev.loupe.engine.worker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;

import dev.loupe.engine.image.ImagePreprocessor;
import dev.loupe.engine.text.ChatMessage;
import dev.loupe.engine.text.ChatTokenizer;
import dev.loupe.engine.text.EncodedChat;
import dev.loupe.engine.train.CausalLmLoss;

/**
 * An example with its tokens: what a batch is made of. The tokens are held for the whole run (a few kilobytes an
 * example); the pictures are read and preprocessed again for each batch, so that the examples' pixels (megabytes
 * each at CLIP's sizes) are never all in memory.
 *
 * @param chat the whole conversation, trained where the example's turns are
 */
record EncodedExample(TrainingExample example, EncodedChat chat) {

    /**
     * Encodes an example with the chat template. The tokenizer trains every assistant turn; an assistant turn the
     * example leaves untrained has its tokens' flags cleared here, found by encoding each turn alone: the template
     * encodes turns independently, which the lengths confirm.
     *
     * @throws IllegalArgumentException if the tokenizer refuses a turn (e.g. text that spells a special token)
     */
    static EncodedExample encode(ChatTokenizer tokenizer, TrainingExample example) {
        EncodedChat whole = tokenizer.encode(example.messages(), false);
        boolean allTrained = example.turns()
                .stream()
                .allMatch(turn -> turn.trained() || turn.message().role() != ChatMessage.Role.assistant);
        if (allTrained) {
            return new EncodedExample(example, whole);
        }
        boolean[] trained = whole.trained().clone();
        int offset = 0;
        for (TrainingExample.Turn turn : example.turns()) {
            int length = tokenizer.encode(List.of(turn.message()), false).length();
            if (!turn.trained()) {
                Arrays.fill(trained, offset, Math.min(trained.length, offset + length), false);
            }
            offset += length;
        }
        if (offset != whole.length()) {
            throw new IllegalStateException("the chat template does not encode turns independently: " + offset
                    + " tokens turn by turn, " + whole.length() + " in one");
        }
        return new EncodedExample(example, new EncodedChat(whole.inputIds(), trained, whole.imageCount()));
    }

    String id() {
        return example.id();
    }

    /** Positions the loss counts: trained tokens after the first. */
    long labelledTargets() {
        return CausalLmLoss.labelledTargets(new long[][]{chat.labels()});
    }

    /**
     * The first {@code count} pictures of each example in order, as the model's input.
     *
     * @return {@code [I, 3, S, S]} flattened
     * @throws UncheckedIOException if a picture cannot be read
     */
    static float[] pixels(List<EncodedExample> examples, List<Integer> counts, ImagePreprocessor preprocessor) {
        int perImage = 3 * preprocessor.imageSize() * preprocessor.imageSize();
        int total = counts.stream().mapToInt(Integer::intValue).sum();
        float[] pixels = new float[total * perImage];
        int next = 0;
        for (int e = 0; e < examples.size(); e++) {
            List<TrainingExample.Image> images = examples.get(e).example().images();
            for (int i = 0; i < counts.get(e); i++) {
                float[] one = picture(images.get(i), preprocessor);
                System.arraycopy(one, 0, pixels, next * perImage, perImage);
                next++;
            }
        }
        return pixels;
    }

    /** All pictures of the examples in order. */
    static float[] pixels(List<EncodedExample> examples, ImagePreprocessor preprocessor) {
        return pixels(examples, examples.stream().map(e -> e.example().images().size()).toList(), preprocessor);
    }

    /**
     * One picture as the model's input.
     *
     * @throws IllegalArgumentException if it is no picture the preprocessor takes, naming it
     */
    static float[] picture(TrainingExample.Image image, ImagePreprocessor preprocessor) {
        try {
            return preprocessor.pixels(ImagePreprocessor.decode(image.read()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the image " + image.name() + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the image " + image.name() + ": " + e.getMessage(), e);
        }
    }
}
