package dev.loupe.dataset.imports;

import java.util.Objects;

/**
 * One problem of one line.
 *
 * @param line 1-based line (or LLaVA array element) number; 0 for the file as a whole
 * @param pointer JSON pointer (RFC 6901) of the field at fault, relative to the line's record; empty when the whole
 *        line is at fault
 * @param code stable error code
 * @param message what is wrong, in words a data steward can act on; never the full value of a large field
 */
public record ImportError(long line, String pointer, ImportErrorCode code, String message) {
    public ImportError {
        if (line < 0) {
            throw new IllegalArgumentException("line must not be negative");
        }
        Objects.requireNonNull(pointer, "pointer");
        Objects.requireNonNull(code, "code");
        Objects.requireNonNull(message, "message");
    }
}
