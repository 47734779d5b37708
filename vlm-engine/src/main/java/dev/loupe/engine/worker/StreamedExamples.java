package dev.loupe.engine.worker;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * Examples the training-service streams into the worker's standard input (a job spec with
 * {@code "examples_on_stdin": true}), so that the decrypted images of a governed dataset live only in the worker's
 * memory and never on a disk. One JSON object a line:
 *
 * <pre>
 * {"split": "train", "id": "rec-1", "images": ["iVBORw0KGgo..."], "messages": [
 *     {"role": "user", "content": "&lt;image&gt;\nWhat is this?"},
 *     {"role": "assistant", "content": "A cat."}]}
 * {"split": "validation", "id": "rec-9", ...}
 * {"end": true, "train": 120, "validation": 12}
 * </pre>
 *
 * Images are base64 (PNG or JPEG bytes) in the order of the placeholders; {@code split} is {@code train} or
 * {@code validation}; messages are as in {@link JsonlExampleSource}. The closing line counts the examples of each
 * split, so a feed that breaks off is refused rather than trained on in part. The feed's SHA-256 identifies the
 * examples in the checkpoints' run settings: a resumed job must be fed the same examples.
 */
public final class StreamedExamples {
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();
    private static final Set<String> EXAMPLE_KEYS = Set.of("split", "id", "images", "messages");
    private static final Set<String> END_KEYS = Set.of("end", "train", "validation");

    /**
     * The examples of a feed.
     *
     * @param validation empty when the feed had none
     * @param sha256 of the feed's bytes, lower-case hex
     */
    public record Feed(List<TrainingExample> train, List<TrainingExample> validation, String sha256) {
    }

    private StreamedExamples() {
    }

    /**
     * Reads a whole feed.
     *
     * @throws ExampleFormatException naming the line at fault, or the feed's end when it is missing or miscounts
     */
    public static Feed read(InputStream in) throws IOException {
        MessageDigest digest = sha256();
        List<TrainingExample> train = new ArrayList<>();
        List<TrainingExample> validation = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16);
        int number = 0;
        for (String line = reader.readLine(); line != null; line = reader.readLine()) {
            number++;
            digest.update(line.getBytes(StandardCharsets.UTF_8));
            digest.update((byte) '\n');
            String where = "example feed line " + number;
            JsonNode root;
            try {
                root = JSON.readTree(line);
            } catch (JsonProcessingException e) {
                throw new ExampleFormatException(where + ": not valid JSON: " + e.getOriginalMessage(), e);
            }
            if (root != null && root.has("end")) {
                checkEnd(root, where, train.size(), validation.size());
                if (train.isEmpty()) {
                    throw new ExampleFormatException("the example feed holds no training example");
                }
                return new Feed(List.copyOf(train), List.copyOf(validation),
                        HexFormat.of().formatHex(digest.digest()));
            }
            try {
                JsonlExampleSource.requireObject(root, "the line", EXAMPLE_KEYS);
                String split = root.path("split").asText("");
                List<TrainingExample> into = switch (split) {
                    case "train" -> train;
                    case "validation" -> validation;
                    default -> throw new IllegalArgumentException("split must be train or validation");
                };
                TrainingExample example = example(root);
                if (!ids.add(example.id())) {
                    throw new IllegalArgumentException("id " + example.id() + " comes twice");
                }
                into.add(example);
            } catch (IllegalArgumentException e) {
                throw new ExampleFormatException(where + ": " + e.getMessage(), e);
            }
        }
        throw new ExampleFormatException("the example feed broke off after " + number + " lines, before its end line");
    }

    private static TrainingExample example(JsonNode root) {
        JsonNode id = root.get("id");
        if (id == null || !id.isTextual()) {
            throw new IllegalArgumentException("id must be a string");
        }
        try {
            List<TrainingExample.Image> images = new ArrayList<>();
            JsonNode imageList = root.path("images");
            if (!imageList.isMissingNode() && !imageList.isArray()) {
                throw new IllegalArgumentException("images must be a list of base64 strings");
            }
            for (int i = 0; i < imageList.size(); i++) {
                JsonNode data = imageList.get(i);
                if (!data.isTextual()) {
                    throw new IllegalArgumentException("images[" + i + "] must be a base64 string");
                }
                try {
                    images.add(new InlineImage(id.asText() + " image " + i, Base64.getDecoder().decode(data.asText())));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("images[" + i + "] is not valid base64", e);
                }
            }
            JsonNode messages = root.get("messages");
            if (messages == null || !messages.isArray()) {
                throw new IllegalArgumentException("messages must be a list of turns");
            }
            List<TrainingExample.Turn> turns = new ArrayList<>();
            for (int i = 0; i < messages.size(); i++) {
                turns.add(JsonlExampleSource.turn(messages.get(i), "messages[" + i + "]"));
            }
            return new TrainingExample(id.asText(), images, turns);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("example " + id.asText() + ": " + e.getMessage(), e);
        }
    }

    private static void checkEnd(JsonNode root, String where, int train, int validation)
            throws ExampleFormatException {
        try {
            JsonlExampleSource.requireObject(root, "the end line", END_KEYS);
        } catch (IllegalArgumentException e) {
            throw new ExampleFormatException(where + ": " + e.getMessage(), e);
        }
        if (!root.path("end").asBoolean(false) || !root.path("train").canConvertToLong()
                || !root.path("validation").canConvertToLong()) {
            throw new ExampleFormatException(where + ": the end line must be {\"end\": true, \"train\": <count>, "
                    + "\"validation\": <count>}");
        }
        if (root.path("train").asLong() != train || root.path("validation").asLong() != validation) {
            throw new ExampleFormatException(where + ": the feed announced " + root.path("train").asLong()
                    + " training and " + root.path("validation").asLong() + " validation examples but held " + train
                    + " and " + validation);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    /** A picture held in memory. */
    record InlineImage(String name, byte[] bytes) implements TrainingExample.Image {
        @Override
        public byte[] read() {
            return bytes;
        }
    }
}
