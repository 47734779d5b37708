package dev.loupe.dataset.images;

import java.util.Locale;

/**
 * Stable codes of image rejections. Clients and import reports key on {@link #code()} (lower_snake_case), which
 * never changes meaning once released; add codes, never rename or reuse one.
 */
public enum ImageErrorCode {
    /** The bytes are not an image this package recognises (text, an archive, empty input, ...). */
    NOT_AN_IMAGE,
    /** A recognised image format that Loupe does not accept (GIF, BMP, TIFF, SVG, HEIC, AVIF, animated WEBP, ...). */
    UNSUPPORTED_FORMAT,
    /** More encoded bytes than {@link ImageLimits#maxEncodedBytes()}; checked before anything is parsed. */
    IMAGE_TOO_LARGE,
    /** The header is malformed: an IHDR that is not first or fails its CRC, a zero dimension, a bad bit depth. */
    INVALID_HEADER,
    /** Width, height or pixel count over {@link ImageLimits}; checked from the header, before decoding. */
    DIMENSIONS_TOO_LARGE,
    /** The file ends early: no PNG IEND chunk, no JPEG end-of-image marker, a WEBP shorter than its RIFF size. */
    TRUNCATED_IMAGE,
    /** The file is complete but corrupt: a chunk CRC mismatch, bad compressed data, a decoder error or warning. */
    DECODE_FAILED;

    private final String code = name().toLowerCase(Locale.ROOT);

    /** The stable lower_snake_case code, for example {@code dimensions_too_large}. */
    public String code() {
        return code;
    }

    @Override
    public String toString() {
        return code;
    }
}
