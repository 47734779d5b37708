package dev.loupe.dataset.imports;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The per-import state of validation: the record count and the client ids seen. One instance per read of one
 * stream.
 */
final class LineValidator {
    /** Turns one parsed line into a draft, reporting what does not fit the format; null if nothing is usable. */
    @FunctionalInterface
    interface FormatReader {
        Draft read(JsonNode line, ErrorCollector errors);
    }

    private final ImportLimits limits;
    private final LineUnit unit;
    private final FormatReader reader;
    private final RecordChecks checks;
    private final IdRegistry ids = new IdRegistry();
    private long records;

    LineValidator(ImportLimits limits, LineUnit unit, FormatReader reader) {
        this.limits = limits;
        this.unit = unit;
        this.reader = reader;
        this.checks = new RecordChecks(limits);
    }

    /** The collector of a new line, which counts as one record read. */
    ErrorCollector begin(long line) {
        records++;
        ErrorCollector errors = new ErrorCollector(line, limits.maxErrorsPerLine());
        if (records > limits.maxRecords()) {
            errors.add(ImportErrorCode.TOO_MANY_RECORDS, "",
                    "the import has more than " + limits.maxRecords() + " records; split it into several imports");
        }
        return errors;
    }

    /** Validates a parsed line (when {@link #begin} found no error) and gives its result. */
    LineResult validate(JsonNode line, ErrorCollector errors) {
        if (!errors.isEmpty()) {
            return errors.rejected(false);
        }
        Draft draft = reader.read(line, errors);
        ImportRecord record = draft == null ? null : checks.check(draft, errors);
        if (draft != null && draft.id != null) {
            long first = ids.register(draft.id, errors.line());
            if (first != 0) {
                errors.add(ImportErrorCode.DUPLICATE_ID, draft.idPointer, "the id " + Text.quote(draft.id)
                        + " was already used by " + unit.word() + " " + first + " of this import");
            }
        }
        if (!errors.isEmpty()) {
            return errors.rejected(false);
        }
        return new LineResult.Valid(errors.line(), record,
                draft.images.stream().map(Draft.Image::pointer).toList());
    }
}
