package dev.loupe.gateway.api;

import java.time.Instant;
import java.util.List;
import java.util.Locale;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import dev.loupe.contracts.dataset.v1.Import;
import dev.loupe.contracts.dataset.v1.ImportFormat;
import dev.loupe.contracts.dataset.v1.ImportMode;
import dev.loupe.contracts.dataset.v1.ImportRejection;
import dev.loupe.contracts.dataset.v1.ImportState;
import dev.loupe.contracts.dataset.v1.ListImportRejectionsResponse;
import dev.loupe.support.grpc.ProtoTime;

/**
 * An import of records into a dataset, as the REST API shows it.
 *
 * @param format {@code loupe}, {@code openai} or {@code llava}
 * @param mode {@code accept_valid} or {@code all_or_nothing}
 * @param status {@code running}, {@code succeeded} or {@code failed}
 * @param failureReason why a failed import failed; null otherwise
 * @param finishedAt null while the import runs
 * @param report the rejected lines; only in the answer of {@code GET /v1/datasets/{id}/imports/{importId}}
 */
@Schema(name = "DatasetImport")
public record ImportView(String id, String object, String datasetId,
        @Schema(enumeration = {
                "loupe", "openai", "llava"}) String format,
        @Schema(enumeration = {"accept_valid", "all_or_nothing"}) String mode,
        @Schema(enumeration = {"running", "succeeded", "failed"}) String status, long linesRead,
        long recordsAccepted, long linesRejected, long duplicatesSkipped, String failureReason, Instant createdAt,
        Instant finishedAt, ReportView report) {

    /**
     * The first rejected lines of an import, in line order.
     *
     * @param hasMoreRejections whether the import rejected more lines than listed here
     */
    @Schema(name = "DatasetImportReport")
    public record ReportView(List<RejectedLineView> rejectedLines, boolean hasMoreRejections) {
        public static ReportView of(ListImportRejectionsResponse page) {
            return new ReportView(page.getRejectionsList().stream().map(RejectedLineView::of).toList(),
                    page.getPage().getHasMore());
        }
    }

    /**
     * One rejected line.
     *
     * @param line 1-based line of the records file (for LLaVA, the 1-based element of its array)
     * @param pointer JSON pointer (RFC 6901) of the field at fault in the line; {@code ""} when the whole line is
     * @param code stable error code, e.g. {@code image_too_large} (docs/dataset-formats.md)
     */
    @Schema(name = "RejectedLine")
    public record RejectedLineView(long line, String pointer, String code, String message) {
        static RejectedLineView of(ImportRejection rejection) {
            return new RejectedLineView(rejection.getLine(), rejection.getPointer(), rejection.getCode(),
                    rejection.getMessage());
        }
    }

    public static ImportView of(Import imported) {
        return of(imported, null);
    }

    public static ImportView of(Import imported, ReportView report) {
        return new ImportView(imported.getId(), "dataset.import", imported.getDatasetId(),
                formatName(imported.getFormat()), modeName(imported.getMode()), statusName(imported.getState()),
                imported.getLinesRead(), imported.getRecordsAccepted(), imported.getLinesRejected(),
                imported.getDuplicatesSkipped(),
                imported.getFailureReason().isEmpty() ? null : imported.getFailureReason(),
                ProtoTime.toInstant(imported.getCreatedAt()),
                imported.hasFinishedAt() ? ProtoTime.toInstant(imported.getFinishedAt()) : null, report);
    }

    /** The REST name of a format, as the {@code format} form field takes it; null when unspecified. */
    public static String formatName(ImportFormat format) {
        return switch (format) {
            case IMPORT_FORMAT_LOUPE, IMPORT_FORMAT_OPENAI, IMPORT_FORMAT_LLAVA -> suffix(format.name(),
                    "IMPORT_FORMAT_");
            case IMPORT_FORMAT_UNSPECIFIED, UNRECOGNIZED -> null;
        };
    }

    /** The REST name of a mode, as the {@code mode} form field takes it; null when unspecified. */
    public static String modeName(ImportMode mode) {
        return switch (mode) {
            case IMPORT_MODE_ACCEPT_VALID, IMPORT_MODE_ALL_OR_NOTHING -> suffix(mode.name(), "IMPORT_MODE_");
            case IMPORT_MODE_UNSPECIFIED, UNRECOGNIZED -> null;
        };
    }

    private static String statusName(ImportState state) {
        return switch (state) {
            case IMPORT_STATE_RUNNING, IMPORT_STATE_SUCCEEDED, IMPORT_STATE_FAILED -> suffix(state.name(),
                    "IMPORT_STATE_");
            case IMPORT_STATE_UNSPECIFIED, UNRECOGNIZED -> null;
        };
    }

    private static String suffix(String name, String prefix) {
        return name.substring(prefix.length()).toLowerCase(Locale.ROOT);
    }
}
