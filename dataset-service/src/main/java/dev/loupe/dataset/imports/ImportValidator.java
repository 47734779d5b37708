package dev.loupe.dataset.imports;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Runs one import's validation: reads the file with its format's importer, hands each valid record to a sink, which
 * may still reject it (its images), and returns the report. The sink sees candidates, not commitments: the caller
 * stages what it receives and keeps it only if {@link ImportReport#commit()} says so. In
 * {@link ImportMode#ALL_OR_NOTHING} the sink is told to stop staging after the first rejected line (nothing could
 * be kept), but every line is still checked so the report is complete.
 */
public final class ImportValidator {
    private final ImportFormat format;
    private final ImportMode mode;
    private final ImportLimits limits;

    public ImportValidator(ImportFormat format, ImportMode mode, ImportLimits limits) {
        this.format = Objects.requireNonNull(format, "format");
        this.mode = Objects.requireNonNull(mode, "mode");
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    /**
     * Validates the whole stream (which is not closed).
     *
     * @throws IOException when reading the stream or the sink fails; content errors go into the report
     */
    public ImportReport validate(InputStream in, RecordSink sink) throws IOException {
        Tally tally = new Tally();
        format.importer(limits).read(in, result -> {
            if (result instanceof LineResult.Valid valid) {
                List<ImportError> errors = sink.accept(valid.line(), valid.record(), valid.imagePointers(),
                        tally.forwarding());
                if (!errors.isEmpty()) {
                    int kept = Math.min(errors.size(), limits.maxErrorsPerLine());
                    Set<ImportErrorCode> codes = EnumSet.noneOf(ImportErrorCode.class);
                    errors.forEach(error -> codes.add(error.code()));
                    result = new LineResult.Rejected(valid.line(), errors.subList(0, kept), errors.size() - kept, codes,
                            false);
                }
            }
            tally.add(result);
        });
        return tally.report();
    }

    /** The running totals and the capped detail. */
    private final class Tally {
        private long read;
        private long valid;
        private long rejected;
        private final Map<ImportErrorCode, Long> byCode = new EnumMap<>(ImportErrorCode.class);
        private final List<RejectedLine> kept = new ArrayList<>();
        private long omitted;
        private ImportError fileError;

        void add(LineResult result) {
            if (result instanceof LineResult.Valid) {
                read++;
                valid++;
                return;
            }
            LineResult.Rejected bad = (LineResult.Rejected) result;
            if (bad.fatal()) {
                fileError = bad.errors().get(0);
            }
            if (bad.line() == 0) {
                // The file as a whole, not one of its lines.
                return;
            }
            read++;
            rejected++;
            for (ImportErrorCode code : bad.codes()) {
                byCode.merge(code, 1L, Long::sum);
            }
            if (kept.size() < limits.maxReportedLines()) {
                kept.add(new RejectedLine(bad.line(), bad.errors(), bad.errorsOmitted()));
            } else {
                omitted++;
            }
        }

        boolean forwarding() {
            return fileError == null && (mode == ImportMode.ACCEPT_VALID || rejected == 0);
        }

        ImportReport report() {
            // The same rule as ImportReport.commit(): records flow exactly while they could still be kept.
            return new ImportReport(format, mode, read, valid, forwarding() ? valid : 0, rejected, byCode, kept,
                    omitted,
                    Optional.ofNullable(fileError));
        }
    }
}
