package dev.loupe.dataset.imports;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** docs/dataset-formats.md stays true: its examples import cleanly and it lists every error code. */
class DocumentedFormatsTest {
    private static final Path DOC = Path.of("..", "docs", "dataset-formats.md");

    @Test
    void theExamplesImportWithoutErrors() throws IOException {
        String doc = Files.readString(DOC);
        assertValid(ImportFormat.LOUPE, firstJsonBlockAfter(doc, "## Loupe native JSONL"), 2);
        assertValid(ImportFormat.OPENAI, firstJsonBlockAfter(doc, "## OpenAI vision fine-tuning JSONL"), 1);
        assertValid(ImportFormat.LLAVA, firstJsonBlockAfter(doc, "## LLaVA JSON"), 1);
    }

    @Test
    void everyErrorCodeIsDocumented() throws IOException {
        String doc = Files.readString(DOC);
        for (ImportErrorCode code : ImportErrorCode.values()) {
            assertTrue(doc.contains("| `" + code.code() + "` |"), "docs/dataset-formats.md lacks " + code.code());
        }
    }

    private static void assertValid(ImportFormat format, String example, int records) {
        List<LineResult> results = Fixtures.read(format, ImportLimits.defaults(), example);
        assertEquals(records, results.size(), format + ": " + results);
        assertTrue(results.stream().allMatch(r -> r instanceof LineResult.Valid), () -> format + ": " + results);
    }

    private static String firstJsonBlockAfter(String doc, String heading) {
        int at = doc.indexOf(heading);
        assertTrue(at >= 0, heading);
        int start = doc.indexOf("```json\n", at) + "```json\n".length();
        return doc.substring(start, doc.indexOf("```", start));
    }
}
