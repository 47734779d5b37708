package dev.loupe.dataset.imports;

import java.util.Objects;

/**
 * A question and its answer about one region of an image.
 *
 * @param box 0-based index into the record's {@link Annotations#boxes()}
 */
public record GroundedQa(String question, String answer, int box) {
    public GroundedQa {
        Objects.requireNonNull(question, "question");
        Objects.requireNonNull(answer, "answer");
        if (question.isBlank() || answer.isBlank()) {
            throw new IllegalArgumentException("question and answer must not be blank");
        }
        if (box < 0) {
            throw new IllegalArgumentException("box index must not be negative");
        }
    }
}
