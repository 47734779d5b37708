package dev.loupe.dataset.imports;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;

/** The errors of one line: the first few in full, the codes of all. */
final class ErrorCollector {
    private final long line;
    private final int maxKept;
    private final List<ImportError> kept = new ArrayList<>();
    private final EnumSet<ImportErrorCode> codes = EnumSet.noneOf(ImportErrorCode.class);
    private int omitted;

    ErrorCollector(long line, int maxKept) {
        this.line = line;
        this.maxKept = maxKept;
    }

    void add(ImportErrorCode code, String pointer, String message) {
        codes.add(code);
        if (kept.size() < maxKept) {
            kept.add(new ImportError(line, pointer, code, message));
        } else {
            omitted++;
        }
    }

    boolean isEmpty() {
        return codes.isEmpty();
    }

    long line() {
        return line;
    }

    LineResult.Rejected rejected(boolean fatal) {
        return new LineResult.Rejected(line, kept, omitted, codes, fatal);
    }
}
