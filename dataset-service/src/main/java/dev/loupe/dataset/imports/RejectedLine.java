package dev.loupe.dataset.imports;

import java.util.List;

/**
 * A rejected line as the report keeps it.
 *
 * @param line 1-based line (or LLaVA element) number
 * @param errors its first errors, in the order found
 * @param errorsOmitted how many more errors it had
 */
public record RejectedLine(long line, List<ImportError> errors, int errorsOmitted) {
    public RejectedLine {
        errors = List.copyOf(errors);
    }
}
