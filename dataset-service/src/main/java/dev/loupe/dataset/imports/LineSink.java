package dev.loupe.dataset.imports;

import java.io.IOException;

/** Receives an importer's results, one per line, in line order. */
@FunctionalInterface
public interface LineSink {
    void accept(LineResult result) throws IOException;
}
