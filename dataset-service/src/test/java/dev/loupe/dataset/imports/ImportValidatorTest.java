package dev.loupe.dataset.imports;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.loupe.dataset.images.ImageErrorCode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Modes, totals and the caps of the report. */
class ImportValidatorTest {
    private static final String GOOD = Fixtures.nativeLine("[]", "Hi");
    private static final String BAD_ROLE = "{\"messages\":[{\"role\":\"assistant\",\"content\":\"Hi\"}]}";
    private static final String BAD_PATH = Fixtures.nativeLine("[\"../x.png\"]", "<image>");
    /** good, bad (role order), good, bad (path), good */
    private static final String MIXED = String.join("\n", GOOD, BAD_ROLE, GOOD, BAD_PATH, GOOD);

    @Test
    void acceptValidKeepsTheValidLinesAndReportsTheOthers() throws IOException {
        List<Long> received = new ArrayList<>();
        ImportReport report = new ImportValidator(ImportFormat.LOUPE, ImportMode.ACCEPT_VALID,
                ImportLimits.defaults()).validate(Fixtures.bytes(MIXED), storing(received));

        assertEquals(List.of(1L, 3L, 5L), received);
        assertTrue(report.commit());
        assertEquals(5, report.linesRead());
        assertEquals(3, report.linesValid());
        assertEquals(3, report.linesAccepted());
        assertEquals(2, report.linesRejected());
        assertEquals(List.of(2L, 4L), report.rejectedLines().stream().map(RejectedLine::line).toList());
        assertEquals(Map.of(ImportErrorCode.ROLE_ORDER, 1L, ImportErrorCode.PATH_TRAVERSAL, 1L),
                report.rejectedLinesByCode());
        assertEquals(LineUnit.LINE, report.lineUnit());
    }

    @Test
    void allOrNothingAcceptsNothingButStillChecksEveryLine() throws IOException {
        List<Long> received = new ArrayList<>();
        ImportReport report = new ImportValidator(ImportFormat.LOUPE, ImportMode.ALL_OR_NOTHING,
                ImportLimits.defaults()).validate(Fixtures.bytes(MIXED), storing(received));

        assertFalse(report.commit());
        assertEquals(List.of(1L), received, "records stop flowing after the first rejected line");
        assertEquals(0, report.linesAccepted());
        assertEquals(3, report.linesValid());
        assertEquals(2, report.linesRejected());
        assertEquals(List.of(2L, 4L), report.rejectedLines().stream().map(RejectedLine::line).toList(),
                "lines after the first error are still checked");
    }

    @Test
    void allOrNothingWithOnlyValidLinesAcceptsThemAll() throws IOException {
        List<Long> received = new ArrayList<>();
        ImportReport report = new ImportValidator(ImportFormat.LOUPE, ImportMode.ALL_OR_NOTHING,
                ImportLimits.defaults()).validate(Fixtures.bytes(GOOD + "\n" + GOOD),
                        storing(received));

        assertTrue(report.commit());
        assertEquals(List.of(1L, 2L), received);
        assertEquals(2, report.linesAccepted());
    }

    @Test
    void theReportKeepsTheFirstRejectedLinesAndCountsAll() throws IOException {
        ImportLimits limits = ImportLimits.builder().optMaxReportedLines(5).build();
        StringBuilder file = new StringBuilder();
        for (int i = 0; i < 2000; i++) {
            file.append(i % 2 == 0 ? BAD_ROLE : BAD_PATH).append('\n');
        }
        file.append(GOOD).append('\n');

        ImportReport report = new ImportValidator(ImportFormat.LOUPE, ImportMode.ACCEPT_VALID, limits)
                .validate(Fixtures.bytes(file.toString()), (line, record, pointers, store) -> List.of());

        assertEquals(2001, report.linesRead());
        assertEquals(2000, report.linesRejected());
        assertEquals(5, report.rejectedLines().size());
        assertEquals(1995, report.rejectedLinesOmitted());
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L), report.rejectedLines().stream().map(RejectedLine::line).toList());
        assertEquals(Map.of(ImportErrorCode.ROLE_ORDER, 1000L, ImportErrorCode.PATH_TRAVERSAL, 1000L),
                report.rejectedLinesByCode());
        assertEquals(1, report.linesAccepted());
    }

    @Test
    void theDefaultCapIsAThousandLines() throws IOException {
        StringBuilder file = new StringBuilder();
        for (int i = 0; i < 1500; i++) {
            file.append(BAD_ROLE).append('\n');
        }
        ImportReport report = new ImportValidator(ImportFormat.LOUPE, ImportMode.ACCEPT_VALID,
                ImportLimits.defaults())
                .validate(Fixtures.bytes(file.toString()), (line, record, pointers, store) -> List.of());
        assertEquals(1000, report.rejectedLines().size());
        assertEquals(500, report.rejectedLinesOmitted());
        assertEquals(1500, report.rejectedLinesByCode().get(ImportErrorCode.ROLE_ORDER));
    }

    @Test
    void errorsOfOneLineAreCappedButAllTheirCodesCount() throws IOException {
        ImportLimits limits = ImportLimits.builder().optMaxErrorsPerLine(3).build();
        StringBuilder boxes = new StringBuilder();
        for (int i = 0; i < 50; i++) {
            boxes.append(i == 0 ? "" : ",").append("{\"label\":\"x\",\"box\":[0,0,2,2]}");
        }
        String line = "{\"foo\":1,\"images\":[\"a.png\"],\"messages\":[{\"role\":\"user\",\"content\":\"<image>\"},"
                + "{\"role\":\"assistant\",\"content\":\"x\"}],\"annotations\":{\"boxes\":[" + boxes + "]}}";

        ImportReport report = new ImportValidator(ImportFormat.LOUPE, ImportMode.ACCEPT_VALID, limits)
                .validate(Fixtures.bytes(line), (l, record, pointers, store) -> List.of());

        RejectedLine rejected = report.rejectedLines().get(0);
        assertEquals(3, rejected.errors().size());
        assertEquals(98, rejected.errorsOmitted(), "1 unknown field + 2 coordinates in each of 50 boxes");
        assertEquals(Map.of(ImportErrorCode.UNKNOWN_FIELD, 1L, ImportErrorCode.BOX_OUT_OF_RANGE, 1L),
                report.rejectedLinesByCode());
    }

    @Test
    void aBrokenLlavaFileCommitsNothingEvenWhenAcceptingValidLines() throws IOException {
        String element = "{\"image\":\"a.png\",\"conversations\":[{\"from\":\"human\",\"value\":\"<image>\"},"
                + "{\"from\":\"gpt\",\"value\":\"A cat.\"}]}";
        List<Long> received = new ArrayList<>();

        ImportReport report = new ImportValidator(ImportFormat.LLAVA, ImportMode.ACCEPT_VALID,
                ImportLimits.defaults()).validate(Fixtures.bytes("[" + element + "," + element + ",{\"id\""),
                        storing(received));

        assertEquals(List.of(1L, 2L), received);
        assertFalse(report.commit());
        assertEquals(0, report.linesAccepted());
        assertEquals(2, report.linesValid());
        assertEquals(3, report.linesRead());
        assertEquals(3, report.fileError().orElseThrow().line());
        assertEquals(ImportErrorCode.INVALID_JSON, report.fileError().orElseThrow().code());
        assertEquals(LineUnit.ARRAY_ELEMENT, report.lineUnit());
    }

    @Test
    void aLlavaFileThatIsNoArrayReportsTheFileNotALine() throws IOException {
        ImportReport report = new ImportValidator(ImportFormat.LLAVA, ImportMode.ACCEPT_VALID,
                ImportLimits.defaults()).validate(Fixtures.bytes("{}"), (line, record, pointers, store) -> List.of());
        assertFalse(report.commit());
        assertEquals(0, report.linesRead());
        assertEquals(0, report.fileError().orElseThrow().line());
        assertEquals(ImportErrorCode.WRONG_TYPE, report.fileError().orElseThrow().code());
    }

    @Test
    void aRecordTheSinkRejectsIsAReportedLine() throws IOException {
        List<Long> received = new ArrayList<>();
        ImportReport report = new ImportValidator(ImportFormat.LOUPE, ImportMode.ACCEPT_VALID,
                ImportLimits.defaults())
                .validate(Fixtures.bytes(GOOD + "\n" + GOOD), (line, record, pointers, store) -> {
                    if (line == 2) {
                        return List
                                .of(new ImportError(line, "/images/0", ImportErrorCode.NOT_AN_IMAGE, "not an image"));
                    }
                    received.add(line);
                    return List.of();
                });

        assertEquals(List.of(1L), received);
        assertEquals(2, report.linesRead());
        assertEquals(1, report.linesValid());
        assertEquals(1, report.linesRejected());
        RejectedLine rejected = report.rejectedLines().get(0);
        assertEquals(2, rejected.line());
        assertEquals(ImportErrorCode.NOT_AN_IMAGE, rejected.errors().get(0).code());
        assertEquals(Map.of(ImportErrorCode.NOT_AN_IMAGE, 1L), report.rejectedLinesByCode());
    }

    /** A sink that records the lines it is asked to store and accepts every record. */
    private static RecordSink storing(List<Long> received) {
        return (line, record, pointers, store) -> {
            if (store) {
                received.add(line);
            }
            return List.of();
        };
    }

    @Test
    void everyImageErrorIsAnImportErrorOfTheSameName() {
        // The import service reports an image's rejection under the import code of the same name.
        for (ImageErrorCode code : ImageErrorCode.values()) {
            assertEquals(code.name(), ImportErrorCode.valueOf(code.name()).name());
        }
    }

    @Test
    void errorCodesAreStableLowerSnakeCase() {
        for (ImportErrorCode code : ImportErrorCode.values()) {
            assertTrue(code.code().matches("[a-z]+(_[a-z0-9]+)*"), code.code());
        }
        assertEquals("invalid_utf8", ImportErrorCode.INVALID_UTF8.code());
        assertEquals("image_in_assistant_turn", ImportErrorCode.IMAGE_IN_ASSISTANT_TURN.toString());
    }
}
