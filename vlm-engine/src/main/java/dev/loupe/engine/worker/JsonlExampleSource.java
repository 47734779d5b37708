package dev.loupe.engine.worker;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import dev.loupe.engine.text.ChatMessage;

/**
 * Examples in a JSONL file, one JSON object a line (blank lines are skipped):
 *
 * <pre>
 * {"id": "ex-1", "images": ["pictures/cat.png"], "messages": [
 *     {"role": "user", "content": "&lt;image&gt;\nWhat is this?"},
 *     {"role": "assistant", "content": "A cat.", "trained": true}]}
 * </pre>
 *
 * (one line in the file). {@code images} may be left out when there is none; {@code trained} defaults to true for
 * assistant turns, and only they can be trained. Image paths are relative to the file's folder and must stay in it:
 * absolute paths, {@code ..} and links that lead out are refused, because the worker must read only what the
 * dataset it was given holds. Every image must exist when the file is read. Keys other than these are refused, and
 * ids must be unique. Errors name the file and the line.
 */
public final class JsonlExampleSource implements ExampleSource {
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();
    private static final Set<String> EXAMPLE_KEYS = Set.of("id", "images", "messages");
    private static final Set<String> MESSAGE_KEYS = Set.of("role", "content", "trained");

    private final Path file;

    public JsonlExampleSource(Path file) {
        this.file = file;
    }

    @Override
    public List<TrainingExample> load() throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new ExampleFormatException(file + " is not a file");
        }
        Path folder = file.toAbsolutePath().getParent();
        Path realFolder = folder.toRealPath();
        List<TrainingExample> examples = new ArrayList<>();
        Map<String, Integer> lineOfId = new HashMap<>();
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            int number = 0;
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                number++;
                if (number == 1 && line.startsWith("\uFEFF")) {
                    // A byte order mark, which some editors write at the start of UTF-8 files.
                    line = line.substring(1);
                }
                if (line.isBlank()) {
                    continue;
                }
                String where = file.getFileName() + " line " + number;
                TrainingExample example;
                try {
                    example = parse(line, folder, realFolder);
                } catch (IllegalArgumentException e) {
                    throw new ExampleFormatException(where + ": " + e.getMessage(), e);
                }
                Integer earlier = lineOfId.putIfAbsent(example.id(), number);
                if (earlier != null) {
                    throw new ExampleFormatException(where + ": id " + example.id() + " is already the id of line "
                            + earlier);
                }
                examples.add(example);
            }
        }
        if (examples.isEmpty()) {
            throw new ExampleFormatException(file + " holds no example");
        }
        return examples;
    }

    private static TrainingExample parse(String line, Path folder, Path realFolder) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage(), e);
        }
        requireObject(root, "the line", EXAMPLE_KEYS);
        JsonNode id = root.get("id");
        if (id == null || !id.isTextual()) {
            throw new IllegalArgumentException("id must be a string");
        }
        String prefix = "example " + id.asText() + ": ";
        try {
            List<TrainingExample.Image> images = new ArrayList<>();
            JsonNode imageList = root.path("images");
            if (!imageList.isMissingNode() && !imageList.isArray()) {
                throw new IllegalArgumentException("images must be a list of paths");
            }
            for (int i = 0; i < imageList.size(); i++) {
                JsonNode path = imageList.get(i);
                if (!path.isTextual()) {
                    throw new IllegalArgumentException("images[" + i + "] must be a path");
                }
                images.add(new TrainingExample.FileImage(image(path.asText(), "images[" + i + "]", folder,
                        realFolder)));
            }
            JsonNode messages = root.get("messages");
            if (messages == null || !messages.isArray()) {
                throw new IllegalArgumentException("messages must be a list of turns");
            }
            List<TrainingExample.Turn> turns = new ArrayList<>();
            for (int i = 0; i < messages.size(); i++) {
                turns.add(turn(messages.get(i), "messages[" + i + "]"));
            }
            return new TrainingExample(id.asText(), images, turns);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(prefix + e.getMessage(), e);
        }
    }

    /** One turn of {@code messages}: role, content and the optional {@code trained}. */
    static TrainingExample.Turn turn(JsonNode message, String where) {
        requireObject(message, where, MESSAGE_KEYS);
        JsonNode role = message.get("role");
        if (role == null || !role.isTextual()
                || Arrays.stream(ChatMessage.Role.values()).noneMatch(r -> r.name().equals(role.asText()))) {
            throw new IllegalArgumentException(where + ".role must be user, assistant or system");
        }
        ChatMessage.Role parsed = ChatMessage.Role.valueOf(role.asText());
        JsonNode content = message.get("content");
        if (content == null || !content.isTextual()) {
            throw new IllegalArgumentException(where + ".content must be a string");
        }
        JsonNode trained = message.get("trained");
        if (trained != null && !trained.isBoolean()) {
            throw new IllegalArgumentException(where + ".trained must be true or false");
        }
        boolean isTrained = trained == null ? parsed == ChatMessage.Role.assistant : trained.asBoolean();
        try {
            return new TrainingExample.Turn(new ChatMessage(parsed, content.asText()), isTrained);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
        }
    }

    static void requireObject(JsonNode node, String what, Set<String> keys) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException(what + " must be a JSON object");
        }
        for (Iterator<String> names = node.fieldNames(); names.hasNext();) {
            String name = names.next();
            if (!keys.contains(name)) {
                throw new IllegalArgumentException(what + " has an unknown key " + name + " (known: "
                        + String.join(", ", keys.stream().sorted().toList()) + ")");
            }
        }
    }

    /** The image file a relative path names, refused if the path leaves the folder or names no file. */
    private static Path image(String relative, String where, Path folder, Path realFolder) throws IOException {
        Path path;
        try {
            path = Path.of(relative);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException(where + " " + relative + " is not a valid path", e);
        }
        if (relative.isEmpty() || path.isAbsolute() || relative.startsWith("/") || relative.startsWith("\\")) {
            throw new IllegalArgumentException(where + " " + relative + " must be a path relative to the file's "
                    + "folder");
        }
        for (Path part : path) {
            if (part.toString().equals("..")) {
                throw new IllegalArgumentException(where + " " + relative + " must not contain ..");
            }
        }
        Path resolved = folder.resolve(path).normalize();
        if (!Files.isRegularFile(resolved)) {
            throw new IllegalArgumentException(where + " " + relative + " does not exist (" + resolved + ")");
        }
        if (!resolved.toRealPath().startsWith(realFolder)) {
            throw new IllegalArgumentException(where + " " + relative + " is a link out of the file's folder");
        }
        return resolved;
    }
}
