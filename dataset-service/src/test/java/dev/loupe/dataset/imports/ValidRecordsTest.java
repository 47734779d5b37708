package dev.loupe.dataset.imports;

import java.net.URI;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import static dev.loupe.dataset.imports.Fixtures.PNG_DATA_URL;
import static dev.loupe.dataset.imports.Fixtures.PNG_SIGNATURE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Valid lines of each format become the expected records. */
class ValidRecordsTest {

    @Test
    void nativeRecordWithEverything() {
        String line = """
                {"id": "kitchen-17",
                 "images": ["kitchen/17.jpg", "%s"],
                 "messages": [
                   {"role": "system", "content": "You describe kitchens."},
                   {"role": "user", "content": "<image>\\n<image>\\nWhat changed?"},
                   {"role": "assistant", "content": "The kettle moved.", "weight": 0},
                   {"role": "user", "content": [{"type": "text", "text": "Where is it now?"}]},
                   {"role": "assistant", "content": "{\\"x\\": 0.7}"}],
                 "annotations": {
                   "boxes": [{"label": "kettle", "box": [0.6, 0.4, 0.8, 0.7], "image": 1}],
                   "captions": [{"text": "A kitchen."}, {"text": "The same kitchen.", "image": 1}],
                   "grounded_qa": [{"question": "What is here?", "answer": "A kettle.", "box": 0}]},
                 "expected_output": {"x": 0.7, "found": true}}
                """.formatted(PNG_DATA_URL).replace("\n", "");

        ImportRecord record = Fixtures.single(ImportFormat.LOUPE, line);

        assertEquals(Optional.of("kitchen-17"), record.clientId());
        assertEquals(new ImageRef.ArchiveFile("kitchen/17.jpg"), record.images().get(0));
        assertEquals(new ImageRef.InlineImage("image/png", PNG_SIGNATURE), record.images().get(1));
        assertEquals(List.of(Message.system("You describe kitchens."), Message.user("<image>\n<image>\nWhat changed?"),
                new Message(Message.Role.ASSISTANT, "The kettle moved.", false), Message.user("Where is it now?"),
                Message.assistant("{\"x\": 0.7}")), record.messages());
        assertEquals(List.of(new BoundingBox(1, "kettle", 0.6, 0.4, 0.8, 0.7)), record.annotations().boxes());
        assertEquals(List.of(new Caption(0, "A kitchen."), new Caption(1, "The same kitchen.")),
                record.annotations().captions());
        assertEquals(List.of(new GroundedQa("What is here?", "A kettle.", 0)), record.annotations().groundedQa());
        assertEquals(Optional.of("{\"x\":0.7,\"found\":true}"), record.expectedOutputJson());
    }

    @Test
    void nativeImageParts() {
        ImportRecord record = Fixtures.single(ImportFormat.LOUPE, "{\"images\":[\"a.png\"],\"messages\":["
                + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Look:\"},{\"type\":\"image\"}]},"
                + "{\"role\":\"assistant\",\"content\":\"A cat.\"}]}");
        assertEquals("Look:\n<image>", record.messages().get(0).content());
        assertEquals(1, record.images().size());
    }

    @Test
    void openAiRecordWithSystemDetailAndWeight() {
        String line = """
                {"messages": [
                  {"role": "system", "content": "You are a careful inspector."},
                  {"role": "user", "content": [
                    {"type": "text", "text": "Is this weld sound?"},
                    {"type": "image_url", "image_url": {"url": "%s", "detail": "low"}},
                    {"type": "image_url", "image_url": {"url": "https://images.example.com/weld/2.png"}}]},
                  {"role": "assistant", "content": [{"type": "text", "text": "No: porosity."}], "weight": 1}]}
                """.formatted(PNG_DATA_URL).replace("\n", "");

        ImportRecord record = Fixtures.single(ImportFormat.OPENAI, line);

        assertEquals(Optional.empty(), record.clientId());
        assertEquals(List.of(new ImageRef.InlineImage("image/png", PNG_SIGNATURE),
                new ImageRef.RemoteUrl(URI.create("https://images.example.com/weld/2.png"))), record.images());
        assertEquals("Is this weld sound?\n<image>\n<image>", record.messages().get(1).content());
        assertEquals(Message.assistant("No: porosity."), record.messages().get(2));
        assertTrue(record.annotations().isEmpty());
    }

    @Test
    void llavaRecordsWithIntegerIdAndSeveralImages() {
        String file = """
                [
                  {"id": "000000033471", "image": "coco/train2017/000000033471.jpg",
                   "conversations": [
                     {"from": "human", "value": "What are the colors of the bus in the image?\\n<image>"},
                     {"from": "gpt", "value": "The bus in the image is white and red."},
                     {"from": "human", "value": "What feature can be seen on the back of the bus?"},
                     {"from": "gpt", "value": "The back of the bus features an advertisement."}]},
                  {"id": 42, "image": ["a.png", "b.png"],
                   "conversations": [
                     {"from": "system", "value": "Compare images."},
                     {"from": "human", "value": "<image><image>Same?"},
                     {"from": "gpt", "value": "No."}]},
                  {"id": "text-only", "conversations": [
                     {"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]}
                ]
                """;

        List<LineResult> results = Fixtures.read(ImportFormat.LLAVA, ImportLimits.defaults(), file);

        assertEquals(3, results.size());
        ImportRecord first = assertInstanceOf(LineResult.Valid.class, results.get(0)).record();
        assertEquals(Optional.of("000000033471"), first.clientId());
        assertEquals(List.of(new ImageRef.ArchiveFile("coco/train2017/000000033471.jpg")), first.images());
        assertEquals(4, first.messages().size());
        assertEquals(Message.assistant("The back of the bus features an advertisement."), first.messages().get(3));
        ImportRecord second = assertInstanceOf(LineResult.Valid.class, results.get(1)).record();
        assertEquals(Optional.of("42"), second.clientId());
        assertEquals(2, second.images().size());
        assertEquals(Message.system("Compare images."), second.messages().get(0));
        assertEquals(3, results.get(2).line());
        assertTrue(assertInstanceOf(LineResult.Valid.class, results.get(2)).record().images().isEmpty());
    }

    @Test
    void jsonlWithByteOrderMarkCrlfAndBlankLinesKeepsEditorLineNumbers() {
        String line = Fixtures.nativeLine("[]", "Hi");
        String file = "\ufeff" + line + "\r\n\r\n   \r\n" + line.replace("Hi", "Hello") + "\r\n";

        List<LineResult> results = Fixtures.read(ImportFormat.LOUPE, ImportLimits.defaults(), file);

        assertEquals(2, results.size());
        assertEquals(1, results.get(0).line());
        assertEquals(4, results.get(1).line());
        assertTrue(results.stream().allMatch(r -> r instanceof LineResult.Valid));
    }

    @Test
    void oneBadLineDoesNotStopTheNextOnes() {
        String good = Fixtures.nativeLine("[]", "Hi");
        List<LineResult> results = Fixtures.read(ImportFormat.LOUPE, ImportLimits.defaults(),
                good + "\n{oops\n" + good + "\n");
        assertEquals(List.of(true, false, true), results.stream().map(r -> r instanceof LineResult.Valid).toList());
        assertFalse(((LineResult.Rejected) results.get(1)).fatal());
    }
}
