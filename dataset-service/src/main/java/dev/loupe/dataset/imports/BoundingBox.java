package dev.loupe.dataset.imports;

import java.util.Objects;

/**
 * A labelled box on one image, in coordinates normalised to [0, 1] of the image's width and height, origin top left.
 *
 * @param image 0-based index of the image in the record
 * @param label what the box shows; not empty
 */
public record BoundingBox(int image, String label, double x0, double y0, double x1, double y1) {
    public BoundingBox {
        if (image < 0) {
            throw new IllegalArgumentException("image index must not be negative");
        }
        Objects.requireNonNull(label, "label");
        if (label.isBlank()) {
            throw new IllegalArgumentException("label must not be blank");
        }
        if (!inUnit(x0) || !inUnit(y0) || !inUnit(x1) || !inUnit(y1) || x0 >= x1 || y0 >= y1) {
            throw new IllegalArgumentException("box must lie in [0,1] with x0 < x1 and y0 < y1");
        }
    }

    static boolean inUnit(double v) {
        return v >= 0.0 && v <= 1.0;
    }
}
