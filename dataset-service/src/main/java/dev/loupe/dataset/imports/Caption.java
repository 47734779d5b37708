package dev.loupe.dataset.imports;

import java.util.Objects;

/**
 * A caption of one image of a record.
 *
 * @param image 0-based index of the image in the record
 * @param text the caption; not blank
 */
public record Caption(int image, String text) {
    public Caption {
        if (image < 0) {
            throw new IllegalArgumentException("image index must not be negative");
        }
        Objects.requireNonNull(text, "text");
        if (text.isBlank()) {
            throw new IllegalArgumentException("caption must not be blank");
        }
    }
}
