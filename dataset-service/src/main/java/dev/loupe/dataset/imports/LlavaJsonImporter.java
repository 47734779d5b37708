package dev.loupe.dataset.imports;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Set;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * LLaVA's conversations JSON: one array of {@code {"id", "image", "conversations": [{"from": "human"|"gpt",
 * "value": "...<image>..."}]}}. The array is streamed element by element with Jackson's parser, never read whole;
 * "line" numbers in its results are 1-based element indexes ({@link LineUnit#ARRAY_ELEMENT}), and pointers are
 * relative to the element.
 *
 * <p>
 * Where LLaVA's own loader is loose, this one follows Loupe's rules: {@code from} may also be {@code system} (first
 * only); {@code image} may be one reference or an array of them (multi-image data), and a reference may also be a
 * {@code data:} or {@code https://} URL; {@code id} may be a string or an integer. An element larger than the line
 * limit is skipped and rejected. Unlike a JSONL line, a syntax error or invalid UTF-8 leaves the rest of the array
 * unreadable: that element's result is {@linkplain LineResult.Rejected#fatal() fatal} and nothing follows it.
 */
public final class LlavaJsonImporter implements RecordImporter {
    private static final Set<String> RECORD_FIELDS = Set.of("id", "image", "conversations");
    private static final Set<String> TURN_FIELDS = Set.of("from", "value");

    private final ImportLimits limits;
    private final JsonFactory factory;

    public LlavaJsonImporter(ImportLimits limits) {
        this.limits = limits;
        // Duplicate keys are caught while building each element, so that they cost the element, not the file.
        this.factory = JsonSupport.factory(limits, false);
    }

    @Override
    public ImportFormat format() {
        return ImportFormat.LLAVA;
    }

    @Override
    public void read(InputStream raw, LineSink sink) throws IOException {
        BufferedInputStream buffered = new BufferedInputStream(raw, 4);
        buffered.mark(4);
        byte[] head = buffered.readNBytes(4);
        buffered.reset();
        if (!utf8Head(head)) {
            fatal(sink, 0, "", ImportErrorCode.INVALID_UTF8,
                    "the file is not UTF-8 (it looks like UTF-16 or UTF-32); save it as UTF-8");
            return;
        }
        Utf8CheckingInputStream in = new Utf8CheckingInputStream(buffered);
        LineValidator validator = new LineValidator(limits, LineUnit.ARRAY_ELEMENT, this::toDraft);
        long element = 0;
        boolean inElement = false;
        try (JsonParser parser = factory.createParser(in)) {
            JsonToken token = parser.nextToken();
            if (token == null) {
                fatal(sink, 0, "", ImportErrorCode.INVALID_JSON,
                        "the file is empty; a LLaVA file is a JSON array of conversations");
                return;
            }
            if (token != JsonToken.START_ARRAY) {
                fatal(sink, 0, "", ImportErrorCode.WRONG_TYPE,
                        "a LLaVA file is a JSON array of conversations, not " + describe(token));
                return;
            }
            while ((token = parser.nextToken()) != JsonToken.END_ARRAY) {
                if (token == null) {
                    fatal(sink, element + 1, "", ImportErrorCode.INVALID_JSON, "the file ends inside the array");
                    return;
                }
                element++;
                inElement = true;
                ErrorCollector errors = validator.begin(element);
                JsonNode node = readBounded(parser, errors);
                long end = parser.currentLocation().getByteOffset();
                if (in.firstInvalid() >= 0 && in.firstInvalid() < end) {
                    fatal(sink, element, "", ImportErrorCode.INVALID_UTF8, invalidUtf8(in.firstInvalid()));
                    return;
                }
                inElement = false;
                sink.accept(node == null ? errors.rejected(false) : validator.validate(node, errors));
            }
            if (parser.nextToken() != null) {
                fatal(sink, 0, "", ImportErrorCode.INVALID_JSON, "there is more after the array's closing ]");
                return;
            }
            in.readAllBytes();
            if (in.firstInvalid() >= 0) {
                fatal(sink, 0, "", ImportErrorCode.INVALID_UTF8, invalidUtf8(in.firstInvalid()));
            }
        } catch (JsonProcessingException e) {
            long at = inElement ? element : element + 1;
            long position = e.getLocation() == null ? Long.MAX_VALUE : e.getLocation().getByteOffset();
            if (in.firstInvalid() >= 0 && (position < 0 || in.firstInvalid() <= position + 4)) {
                fatal(sink, at, "", ImportErrorCode.INVALID_UTF8, invalidUtf8(in.firstInvalid()));
            } else if (e instanceof StreamConstraintsException && e.getOriginalMessage() != null
                    && e.getOriginalMessage().startsWith("String value length")) {
                fatal(sink, at, "", ImportErrorCode.LINE_TOO_LONG,
                        JsonSupport.reason(e, limits, true) + "; the rest of the file cannot be read");
            } else {
                fatal(sink, at, "", ImportErrorCode.INVALID_JSON, "invalid JSON at byte " + (position + 1) + ": "
                        + JsonSupport.reason(e, limits, true) + "; the rest of the file cannot be read");
            }
        }
    }

    /**
     * Builds the element the parser stands on as a tree, keeping count of its size: past the limit it drops what
     * it built and skips to the element's end without keeping anything. Answers null (with the error reported) for
     * an element too long or with a duplicate key.
     */
    private JsonNode readBounded(JsonParser parser, ErrorCollector errors) throws IOException {
        JsonNodeFactory nodes = JsonNodeFactory.instance;
        long start = parser.currentTokenLocation().getByteOffset();
        Deque<JsonNode> open = new ArrayDeque<>();
        Deque<String> pointers = new ArrayDeque<>();
        String field = null;
        boolean duplicate = false;
        JsonToken token = parser.currentToken();
        while (true) {
            JsonNode value;
            switch (token) {
                case START_OBJECT -> value = nodes.objectNode();
                case START_ARRAY -> value = nodes.arrayNode();
                case END_OBJECT, END_ARRAY -> value = null;
                case FIELD_NAME -> value = null;
                case VALUE_STRING -> value = nodes.textNode(parser.getText());
                case VALUE_NUMBER_INT -> value = switch (parser.getNumberType()) {
                    case INT -> nodes.numberNode(parser.getIntValue());
                    case LONG -> nodes.numberNode(parser.getLongValue());
                    default -> nodes.numberNode(parser.getBigIntegerValue());
                };
                case VALUE_NUMBER_FLOAT -> value = nodes.numberNode(parser.getDoubleValue());
                case VALUE_TRUE -> value = nodes.booleanNode(true);
                case VALUE_FALSE -> value = nodes.booleanNode(false);
                case VALUE_NULL -> value = nodes.nullNode();
                default -> throw new IllegalStateException("unexpected token " + token);
            }
            if (token == JsonToken.FIELD_NAME) {
                field = parser.currentName();
                ObjectNode parent = (ObjectNode) open.peek();
                if (parent.has(field) && !duplicate) {
                    duplicate = true;
                    errors.add(ImportErrorCode.INVALID_JSON, Pointers.field(pointers.peek(), field),
                            "the key " + Text.quote(field) + " appears twice in one object");
                }
            } else if (token == JsonToken.END_OBJECT || token == JsonToken.END_ARRAY) {
                JsonNode done = open.pop();
                pointers.pop();
                if (open.isEmpty()) {
                    return duplicate ? null : done;
                }
            } else {
                String pointer = "";
                if (!open.isEmpty()) {
                    JsonNode parent = open.peek();
                    if (parent instanceof ObjectNode object) {
                        pointer = Pointers.field(pointers.peek(), field);
                        object.set(field, value);
                    } else {
                        pointer = Pointers.index(pointers.peek(), parent.size());
                        ((ArrayNode) parent).add(value);
                    }
                } else if (!value.isContainerNode()) {
                    return value;
                }
                if (value.isContainerNode()) {
                    open.push(value);
                    pointers.push(pointer);
                }
            }
            long size = parser.currentLocation().getByteOffset() - start;
            if (size > limits.maxLineBytes()) {
                skip(parser, open.size());
                errors.add(ImportErrorCode.LINE_TOO_LONG, "", "the element has more than " + limits.maxLineBytes()
                        + " bytes; at most " + limits.maxLineBytes() + " are allowed");
                return null;
            }
            token = parser.nextToken();
        }
    }

    /** Reads to the end of the containers still open, keeping nothing (string values are skipped unread). */
    private static void skip(JsonParser parser, int depth) throws IOException {
        while (depth > 0) {
            JsonToken token = parser.nextToken();
            if (token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY) {
                depth++;
            } else if (token == JsonToken.END_OBJECT || token == JsonToken.END_ARRAY) {
                depth--;
            }
        }
    }

    private Draft toDraft(JsonNode line, ErrorCollector errors) {
        ObjectNode record = JsonFields.object(line, "", "an element", errors);
        if (record == null) {
            return null;
        }
        JsonFields.refuseUnknown(record, "", RECORD_FIELDS, "id, image, conversations", errors);
        Draft draft = new Draft();
        JsonNode id = JsonFields.optional(record, "id");
        if (id != null) {
            Lines.readId(id, "/id", true, draft, limits, errors);
        }
        draft.imagesPointer = record.has("image") ? "/image" : "";
        JsonNode image = JsonFields.optional(record, "image");
        if (image != null) {
            if (image.isTextual()) {
                Lines.addImage(image.textValue(), "/image", "/image", draft, limits, errors);
            } else if (image instanceof ArrayNode list) {
                for (int i = 0; i < list.size(); i++) {
                    String at = Pointers.index("/image", i);
                    String reference = JsonFields.string(list.get(i), at, "an image reference", errors);
                    if (reference == null) {
                        draft.images.add(new Draft.Image(at, null));
                    } else {
                        Lines.addImage(reference, at, at, draft, limits, errors);
                    }
                }
            } else {
                errors.add(ImportErrorCode.WRONG_TYPE, "/image",
                        "image must be a file name or an array of them, not " + JsonFields.typeName(image));
                draft.imagesComplete = false;
            }
        }
        draft.messagesPointer = "/conversations";
        JsonNode value = JsonFields.required(record, "conversations", "", errors);
        ArrayNode conversations = value == null
                ? null
                : JsonFields.array(value, "/conversations", "conversations", errors);
        if (conversations == null) {
            draft.messagesComplete = false;
            return draft;
        }
        for (int i = 0; i < conversations.size(); i++) {
            Draft.Turn turn = new Draft.Turn(Pointers.index("/conversations", i));
            turn.rolePointer = turn.pointer + "/from";
            turn.contentPointer = turn.pointer + "/value";
            draft.turns.add(turn);
            readTurn(conversations.get(i), turn, errors);
            if (!turn.complete()) {
                draft.messagesComplete = false;
            }
        }
        return draft;
    }

    private static void readTurn(JsonNode node, Draft.Turn turn, ErrorCollector errors) {
        ObjectNode object = JsonFields.object(node, turn.pointer, "a turn", errors);
        if (object == null) {
            return;
        }
        JsonFields.refuseUnknown(object, turn.pointer, TURN_FIELDS, "from, value", errors);
        JsonNode from = JsonFields.required(object, "from", turn.pointer, errors);
        String name = from == null ? null : JsonFields.string(from, turn.rolePointer, "from", errors);
        if (name != null) {
            switch (name) {
                case "human" -> turn.role = Message.Role.USER;
                case "gpt" -> turn.role = Message.Role.ASSISTANT;
                case "system" -> turn.role = Message.Role.SYSTEM;
                default -> errors.add(ImportErrorCode.INVALID_ROLE, turn.rolePointer,
                        "from " + Text.quote(name) + " is not one of human, gpt, system");
            }
        }
        JsonNode value = JsonFields.required(object, "value", turn.pointer, errors);
        String text = value == null ? null : JsonFields.string(value, turn.contentPointer, "value", errors);
        if (text != null) {
            turn.content = new StringBuilder();
            Lines.appendText(turn, text, turn.contentPointer, true, errors);
        }
    }

    /** False for a byte order mark or NUL bytes of UTF-16 or UTF-32, which Jackson would silently decode. */
    private static boolean utf8Head(byte[] head) {
        if (head.length >= 2 && ((head[0] & 0xff) == 0xfe && (head[1] & 0xff) == 0xff
                || (head[0] & 0xff) == 0xff && (head[1] & 0xff) == 0xfe)) {
            return false;
        }
        for (byte b : head) {
            if (b == 0) {
                return false;
            }
        }
        return true;
    }

    private static String invalidUtf8(long offset) {
        return "the file is not valid UTF-8 at byte " + (offset + 1) + "; save it as UTF-8 (the rest of the file"
                + " cannot be read)";
    }

    private static String describe(JsonToken token) {
        return switch (token) {
            case START_OBJECT -> "an object (is this a JSONL file? choose the native or OpenAI format)";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            default -> "a " + token.asString();
        };
    }

    private static void fatal(LineSink sink, long line, String pointer, ImportErrorCode code, String message)
            throws IOException {
        ErrorCollector errors = new ErrorCollector(line, 1);
        errors.add(code, pointer, message);
        sink.accept(errors.rejected(true));
    }
}
