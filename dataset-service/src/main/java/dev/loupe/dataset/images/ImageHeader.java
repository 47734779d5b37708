package dev.loupe.dataset.images;

import java.util.Objects;

/**
 * What the header of an encoded image says, read without decoding a pixel.
 *
 * @param format the format sniffed from the magic bytes
 * @param width width in pixels as stored (before any EXIF orientation is applied)
 * @param height height in pixels as stored
 */
public record ImageHeader(ImageFormat format, int width, int height) {
    public ImageHeader {
        Objects.requireNonNull(format, "format");
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("width and height must be positive");
        }
    }

    /** Width times height. */
    public long pixels() {
        return (long) width * height;
    }
}
