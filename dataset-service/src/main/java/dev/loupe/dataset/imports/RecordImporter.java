package dev.loupe.dataset.imports;

import java.io.IOException;
import java.io.InputStream;

/**
 * Reads one import file of one format. An importer keeps no state between calls of {@link #read}: duplicate ids
 * are tracked per call, so one instance can serve many imports, one call per import.
 */
public interface RecordImporter {

    ImportFormat format();

    /**
     * Reads the whole stream, handing the sink one result per non-blank line (or array element) in order. Memory
     * stays bounded by the limits however large the stream; the stream is not closed.
     *
     * @throws IOException only when reading the stream (or the sink) fails; bad content is reported through the
     *         sink, never thrown
     */
    void read(InputStream in, LineSink sink) throws IOException;
}
