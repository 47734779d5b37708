package dev.loupe.dataset.imports;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * OpenAI's vision fine-tuning JSONL: {@code {"messages": [...]}} per line, where a content is a string or a list of
 * {@code {"type":"text","text":...}} and {@code {"type":"image_url","image_url":{"url":...}}} parts. Images are
 * {@code data:image/...;base64,} or {@code https://} URLs (or, as a Loupe extension, file names of the images
 * archive); at most {@link ImportLimits#maxImagesPerRecord()} per example (10, like OpenAI), none in assistant turns.
 * Parts are joined with a line feed and each image part becomes an {@code <image>} placeholder in the record.
 * {@code image_url.detail} is accepted and not kept: Loupe's models have no detail setting.
 */
public final class OpenAiJsonlImporter implements RecordImporter {
    /** OpenAI fields Loupe does not support, and why, so the message helps more than "unknown". */
    private static final Map<String, String> UNSUPPORTED = Map.of("tools", "tool definitions", "functions",
            "function definitions", "parallel_tool_calls", "tool calls");

    private final JsonlReader jsonl;
    private final ChatReader chat;

    public OpenAiJsonlImporter(ImportLimits limits) {
        this.jsonl = new JsonlReader(limits);
        this.chat = new ChatReader(ChatReader.ImageParts.OPENAI, limits);
    }

    @Override
    public ImportFormat format() {
        return ImportFormat.OPENAI;
    }

    @Override
    public void read(InputStream in, LineSink sink) throws IOException {
        jsonl.read(in, sink, this::toDraft);
    }

    private Draft toDraft(JsonNode line, ErrorCollector errors) {
        ObjectNode record = JsonFields.object(line, "", "a line", errors);
        if (record == null) {
            return null;
        }
        for (var names = record.fieldNames(); names.hasNext();) {
            String name = names.next();
            if (UNSUPPORTED.containsKey(name)) {
                errors.add(ImportErrorCode.UNKNOWN_FIELD, Pointers.field("", name),
                        "Loupe does not train on " + UNSUPPORTED.get(name) + "; remove " + Text.quote(name));
            } else if (!name.equals("messages")) {
                errors.add(ImportErrorCode.UNKNOWN_FIELD, Pointers.field("", name),
                        "unknown field " + Text.quote(name) + "; allowed here: messages");
            }
        }
        Draft draft = new Draft();
        draft.imagesPointer = "/messages";
        chat.read(record, draft, errors);
        return draft;
    }
}
