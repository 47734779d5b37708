package dev.loupe.support.kms;

/**
 * A wrapped data key that cannot be unwrapped: its KEK was destroyed, its version retired, or the wrapping was
 * altered. Whatever that key encrypted is unreadable, which after a deletion is the point.
 */
public class DataKeyUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DataKeyUnavailableException(String message) {
        super(message);
    }

    public DataKeyUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
