package dev.loupe.dataset.imports;

import java.io.IOException;

/** Receives the valid records of an import as they are found. */
@FunctionalInterface
public interface RecordSink {
    /**
     * @param line the record's 1-based line (or LLaVA element) number
     */
    void accept(long line, ImportRecord record) throws IOException;
}
