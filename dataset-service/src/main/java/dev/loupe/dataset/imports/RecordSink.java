package dev.loupe.dataset.imports;

import java.io.IOException;
import java.util.List;

/**
 * Receives the valid records of an import as they are found, and checks what the file alone cannot tell: the
 * images themselves, duplicates of stored records.
 */
@FunctionalInterface
public interface RecordSink {
    /**
     * @param line the record's 1-based line (or LLaVA element) number
     * @param imagePointers the JSON pointer of each of the record's image references, for errors about them
     * @param store whether to stage the record: false once the import can no longer keep anything (all-or-nothing
     *        after a rejected line), when only the checks should run
     * @return the line's errors, which reject it; empty when the record is accepted
     */
    List<ImportError> accept(long line, ImportRecord record, List<String> imagePointers, boolean store)
            throws IOException;
}
