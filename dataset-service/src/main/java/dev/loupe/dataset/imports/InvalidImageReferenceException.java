package dev.loupe.dataset.imports;

import java.util.Objects;

/** An image reference that is not well-formed or not allowed; {@link #code()} says which rule it broke. */
public final class InvalidImageReferenceException extends Exception {
    private static final long serialVersionUID = 1L;

    private final ImportErrorCode code;

    public InvalidImageReferenceException(ImportErrorCode code, String message) {
        // One per bad line of a possibly huge import: the stack trace would cost and tell nothing.
        super(message, null, false, false);
        this.code = Objects.requireNonNull(code, "code");
    }

    public ImportErrorCode code() {
        return code;
    }
}
