package dev.loupe.dataset.images;

import java.util.Objects;

/**
 * An image was rejected. {@link #code()} is stable and machine-readable; {@link #getMessage()} is for people and
 * never contains the image's bytes.
 */
public final class ImageRejectedException extends Exception {
    private static final long serialVersionUID = 1L;

    private final ImageErrorCode code;

    /**
     * @param code why the image was rejected
     * @param message what was wrong, for a person reading the import report
     */
    public ImageRejectedException(ImageErrorCode code, String message) {
        super(Objects.requireNonNull(message, "message"), null, false, false);
        this.code = Objects.requireNonNull(code, "code");
    }

    /** The stable error code. */
    public ImageErrorCode code() {
        return code;
    }
}
