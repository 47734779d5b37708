package dev.loupe.dataset.storage;

/** A stored image that cannot be decrypted: altered, moved, or its key destroyed. */
public class ImageUnreadableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ImageUnreadableException(String message) {
        super(message);
    }
}
