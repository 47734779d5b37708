package dev.loupe.dataset.imports;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/** What an importer made of one line (or LLaVA array element). */
public sealed interface LineResult permits LineResult.Valid, LineResult.Rejected {

    /** 1-based line or element number; 0 for the file as a whole. */
    long line();

    /**
     * A line that passed every check.
     *
     * @param imagePointers the JSON pointer of each image reference, in the record's image order, for errors found
     *        in the images themselves later
     */
    record Valid(long line, ImportRecord record, List<String> imagePointers) implements LineResult {
        public Valid {
            Objects.requireNonNull(record, "record");
            imagePointers = List.copyOf(imagePointers);
            if (imagePointers.size() != record.images().size()) {
                throw new IllegalArgumentException("one pointer per image");
            }
        }
    }

    /**
     * A line with at least one error.
     *
     * @param errors the first {@link ImportLimits#maxErrorsPerLine()} errors, in the order found
     * @param errorsOmitted how many more errors the line had
     * @param codes the codes of all the line's errors, the omitted ones included
     * @param fatal the rest of the input could not be read after this (a LLaVA file whose JSON breaks); nothing
     *        follows a fatal result
     */
    record Rejected(long line, List<ImportError> errors, int errorsOmitted, Set<ImportErrorCode> codes,
            boolean fatal) implements LineResult {
        public Rejected {
            errors = List.copyOf(errors);
            codes = Set.copyOf(codes);
            if (errors.isEmpty()) {
                throw new IllegalArgumentException("a rejected line has errors");
            }
        }
    }
}
