package dev.loupe.dataset.imports;

import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import static dev.loupe.dataset.imports.Fixtures.PNG_DATA_URL;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The same logical example, written in each format, becomes the same record. */
class FormatEquivalenceTest {

    /** System prompt, an image with a question, an answer, a follow-up and its answer. */
    private static final ImportRecord EXPECTED = new ImportRecord(Optional.empty(),
            List.of(new ImageRef.ArchiveFile("scans/0042.png")),
            List.of(Message.system("You read invoices."), Message.user("<image>\nWho issued this invoice?"),
                    Message.assistant("ACME Ltd."), Message.user("And the total?"),
                    Message.assistant("EUR 1,250.00")),
            Annotations.NONE, Optional.empty());

    private static final String NATIVE = """
            {"images": ["scans/0042.png"], "messages": [
              {"role": "system", "content": "You read invoices."},
              {"role": "user", "content": "<image>\\nWho issued this invoice?"},
              {"role": "assistant", "content": "ACME Ltd."},
              {"role": "user", "content": "And the total?"},
              {"role": "assistant", "content": "EUR 1,250.00"}]}
            """.replace("\n", "");

    private static final String OPENAI = """
            {"messages": [
              {"role": "system", "content": "You read invoices."},
              {"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "scans/0042.png"}},
                {"type": "text", "text": "Who issued this invoice?"}]},
              {"role": "assistant", "content": "ACME Ltd."},
              {"role": "user", "content": "And the total?"},
              {"role": "assistant", "content": "EUR 1,250.00"}]}
            """.replace("\n", "");

    private static final String LLAVA = """
            [{"image": "scans/0042.png", "conversations": [
              {"from": "system", "value": "You read invoices."},
              {"from": "human", "value": "<image>\\nWho issued this invoice?"},
              {"from": "gpt", "value": "ACME Ltd."},
              {"from": "human", "value": "And the total?"},
              {"from": "gpt", "value": "EUR 1,250.00"}]}]
            """;

    @Test
    void theThreeFormatsGiveEqualRecords() {
        ImportRecord fromNative = Fixtures.single(ImportFormat.LOUPE, NATIVE);
        ImportRecord fromOpenAi = Fixtures.single(ImportFormat.OPENAI, OPENAI);
        ImportRecord fromLlava = Fixtures.single(ImportFormat.LLAVA, LLAVA);

        assertEquals(EXPECTED, fromNative);
        assertEquals(EXPECTED, fromOpenAi);
        assertEquals(EXPECTED, fromLlava);
        assertEquals(fromNative.hashCode(), fromLlava.hashCode());
    }

    @Test
    void inlineImagesAreEqualAcrossFormatsToo() {
        ImportRecord fromNative = Fixtures.single(ImportFormat.LOUPE,
                NATIVE.replace("scans/0042.png", PNG_DATA_URL));
        ImportRecord fromOpenAi = Fixtures.single(ImportFormat.OPENAI,
                OPENAI.replace("scans/0042.png", PNG_DATA_URL));
        ImportRecord fromLlava = Fixtures.single(ImportFormat.LLAVA, LLAVA.replace("scans/0042.png", PNG_DATA_URL));

        assertEquals(fromNative, fromOpenAi);
        assertEquals(fromNative, fromLlava);
        assertEquals(new ImageRef.InlineImage("image/png", Fixtures.PNG_SIGNATURE), fromNative.images().get(0));
    }

    @Test
    void clientIdsAgreeWhereTheFormatHasThem() {
        ImportRecord fromNative = Fixtures.single(ImportFormat.LOUPE, NATIVE.replace("{\"images\"",
                "{\"id\": \"inv-42\", \"images\""));
        ImportRecord fromLlava = Fixtures.single(ImportFormat.LLAVA, LLAVA.replace("[{\"image\"",
                "[{\"id\": \"inv-42\", \"image\""));
        assertEquals(Optional.of("inv-42"), fromNative.clientId());
        assertEquals(fromNative, fromLlava);
    }

    @Test
    void theSameFaultGetsTheSameCodeInEveryFormat() {
        String traversal = "../../etc/passwd";
        List<ImportErrorCode> codes = List.of(
                firstCode(ImportFormat.LOUPE, NATIVE.replace("scans/0042.png", traversal)),
                firstCode(ImportFormat.OPENAI, OPENAI.replace("scans/0042.png", traversal)),
                firstCode(ImportFormat.LLAVA, LLAVA.replace("scans/0042.png", traversal)));
        assertEquals(List.of(ImportErrorCode.PATH_TRAVERSAL, ImportErrorCode.PATH_TRAVERSAL,
                ImportErrorCode.PATH_TRAVERSAL), codes);
    }

    private static ImportErrorCode firstCode(ImportFormat format, String input) {
        LineResult result = Fixtures.read(format, ImportLimits.defaults(), input).get(0);
        return ((LineResult.Rejected) result).errors().get(0).code();
    }
}
