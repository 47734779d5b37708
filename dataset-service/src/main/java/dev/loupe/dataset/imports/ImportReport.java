package dev.loupe.dataset.imports;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What an import made of its file. Totals count every line; the detail is capped
 * ({@link ImportLimits#maxReportedLines()} lines, {@link ImportLimits#maxErrorsPerLine()} errors each) so a report
 * stays small however bad the file.
 *
 * @param format the file's format; its {@link ImportFormat#lineUnit()} says what a "line" is
 * @param mode the mode the import ran in
 * @param linesRead non-blank lines (or array elements) read
 * @param linesValid lines that passed every check
 * @param linesAccepted lines whose records are accepted: {@code linesValid} when {@link #commit()}, else 0
 * @param linesRejected lines with at least one error
 * @param rejectedLinesByCode for each error code, how many rejected lines have at least one error of it
 * @param rejectedLines the first rejected lines in full, in line order
 * @param rejectedLinesOmitted rejected lines counted but not kept in {@code rejectedLines}
 * @param fileError the error that stopped reading before the end of the file (a LLaVA file whose JSON breaks, or
 *        that is no array at all); its line is 0 when the file as a whole is at fault
 */
public record ImportReport(ImportFormat format, ImportMode mode, long linesRead, long linesValid, long linesAccepted,
        long linesRejected, Map<ImportErrorCode, Long> rejectedLinesByCode, List<RejectedLine> rejectedLines,
        long rejectedLinesOmitted, Optional<ImportError> fileError) {

    public ImportReport {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(mode, "mode");
        rejectedLinesByCode = Map.copyOf(rejectedLinesByCode);
        rejectedLines = List.copyOf(rejectedLines);
        Objects.requireNonNull(fileError, "fileError");
    }

    /** What the report's line numbers count. */
    public LineUnit lineUnit() {
        return format.lineUnit();
    }

    /**
     * Whether the caller keeps the records its sink received. False when the file could not be read to its end,
     * and in {@link ImportMode#ALL_OR_NOTHING} when any line was rejected: then every record received is discarded.
     */
    public boolean commit() {
        return fileError.isEmpty() && (mode == ImportMode.ACCEPT_VALID || linesRejected == 0);
    }
}
