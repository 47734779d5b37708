package dev.loupe.training.modelstore;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.loupe.engine.checkpoint.CheckpointFormatException;
import dev.loupe.engine.checkpoint.CheckpointTensors;
import dev.loupe.engine.checkpoint.TensorInfo;
import dev.loupe.engine.model.LlavaConfig;
import dev.loupe.support.error.ProblemException;
import dev.loupe.training.model.ModelFile;

/**
 * Reads a Hugging Face LLaVA checkpoint folder the way registering a base model needs it, without loading a
 * single weight: every file hashed (SHA-256, streamed), {@code config.json} read and checked by the engine's own
 * {@link LlavaConfig}, the parameter count summed from the safetensors headers ({@link CheckpointTensors} reads the
 * 8-byte length and the JSON header of each file, nothing more), and a content hash over the lot.
 *
 * <p>
 * The folder's files are its regular files (or links to them) directly inside it. Hidden entries (tool metadata
 * such as {@code .cache/} or {@code .gitattributes}) and sub-folders are not part of a checkpoint and are left
 * out. Every file, after following symbolic links, must lie inside the boundary folder.
 *
 * <p>
 * The content hash is the SHA-256 over the files in name order of the UTF-8 bytes of
 * {@code <name> NUL <sha256 hex> LF}: two folders have the same content hash exactly when they hold the same
 * files with the same bytes.
 */
public final class CheckpointInspector {
    public static final String CONFIG_FILE = "config.json";
    public static final String TOKENIZER_FILE = "tokenizer.json";
    /** More files than this is not a checkpoint folder. */
    static final int MAX_FILES = 1000;
    private static final int BUFFER_BYTES = 1 << 20;
    private static final String FIELD = "storage_uri";
    private static final ObjectMapper JSON = new ObjectMapper();

    private CheckpointInspector() {
    }

    /**
     * Inspects a checkpoint folder.
     *
     * @param folder the folder's real path
     * @param boundary the real path of the folder every file must lie in after following links
     * @throws ProblemException (invalid {@code storage_uri}) saying what is missing or wrong
     * @throws IOException when a file cannot be read for a reason that is not the checkpoint's fault
     */
    public static InspectedCheckpoint inspect(Path folder, Path boundary) throws IOException {
        SortedMap<String, ModelFile> files = hashFiles(folder, boundary);
        for (String required : new String[]{CONFIG_FILE, TOKENIZER_FILE}) {
            if (!files.containsKey(required)) {
                throw refused("the checkpoint folder has no " + required);
            }
        }
        LlavaConfig config = readConfig(folder.resolve(CONFIG_FILE));
        checkTokenizer(folder.resolve(TOKENIZER_FILE));
        long parameters = countParameters(folder, files);
        return new InspectedCheckpoint(folder, config.modelType(), parameters, files, contentHash(files));
    }

    /** The content hash of a file manifest (see the class comment). */
    public static String contentHash(SortedMap<String, ModelFile> files) {
        MessageDigest digest = sha256();
        files.forEach((name, file) -> digest
                .update((name + '\u0000' + file.sha256() + '\n').getBytes(StandardCharsets.UTF_8)));
        return HexFormat.of().formatHex(digest.digest());
    }

    private static SortedMap<String, ModelFile> hashFiles(Path folder, Path boundary) throws IOException {
        SortedMap<String, ModelFile> files = new TreeMap<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(folder)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (name.startsWith(".")) {
                    continue;
                }
                Path target;
                try {
                    target = entry.toRealPath();
                } catch (NoSuchFileException e) {
                    throw refused(name + " is a symbolic link to nothing");
                }
                if (!target.startsWith(boundary)) {
                    throw refused(name + " is a symbolic link to a place outside the models root");
                }
                BasicFileAttributes attributes = Files.readAttributes(target, BasicFileAttributes.class);
                if (attributes.isDirectory()) {
                    continue;
                }
                if (!attributes.isRegularFile()) {
                    throw refused(name + " is neither a file nor a folder");
                }
                if (files.size() == MAX_FILES) {
                    throw refused("the checkpoint folder holds more than " + MAX_FILES + " files");
                }
                files.put(name, hash(name, target));
            }
        } catch (AccessDeniedException e) {
            throw refused("the training-service may not read " + nameOf(e) + " in the checkpoint folder");
        }
        return files;
    }

    private static ModelFile hash(String name, Path file) throws IOException {
        try {
            return hashFile(file);
        } catch (AccessDeniedException e) {
            throw refused("the training-service may not read " + name + " in the checkpoint folder");
        }
    }

    /** A file's SHA-256 and size, read through once. */
    static ModelFile hashFile(Path file) throws IOException {
        MessageDigest digest = sha256();
        byte[] buffer = new byte[BUFFER_BYTES];
        long size = 0;
        try (InputStream in = Files.newInputStream(file)) {
            for (int read = in.read(buffer); read >= 0; read = in.read(buffer)) {
                digest.update(buffer, 0, read);
                size += read;
            }
        }
        return new ModelFile(HexFormat.of().formatHex(digest.digest()), size);
    }

    private static LlavaConfig readConfig(Path file) throws IOException {
        try {
            return LlavaConfig.read(file);
        } catch (JsonProcessingException e) {
            throw refused(CONFIG_FILE + " is not a LLaVA configuration: " + e.getOriginalMessage());
        } catch (IllegalArgumentException e) {
            throw refused(CONFIG_FILE + ": " + e.getMessage());
        } catch (ArithmeticException e) {
            throw refused(CONFIG_FILE + ": text_config and vision_config need positive sizes and head counts");
        }
    }

    /** The tokenizer is read by the workers; here only its form is checked: one JSON object, streamed. */
    private static void checkTokenizer(Path file) throws IOException {
        try (JsonParser parser = JSON.getFactory().createParser(file.toFile())) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw refused(TOKENIZER_FILE + " is not a JSON object");
            }
            parser.skipChildren();
            if (parser.nextToken() != null) {
                throw refused(TOKENIZER_FILE + " has content after its JSON object");
            }
        } catch (JsonProcessingException e) {
            throw refused(TOKENIZER_FILE + " is not valid JSON: " + e.getOriginalMessage());
        }
    }

    private static long countParameters(Path folder, Map<String, ModelFile> files) throws IOException {
        boolean sharded = files.containsKey(CheckpointTensors.INDEX_FILE);
        if (!sharded && !files.containsKey(CheckpointTensors.SINGLE_FILE)) {
            throw refused("the checkpoint folder has neither " + CheckpointTensors.SINGLE_FILE + " nor "
                    + CheckpointTensors.INDEX_FILE);
        }
        if (sharded) {
            for (String shard : shardNames(folder.resolve(CheckpointTensors.INDEX_FILE))) {
                if (!files.containsKey(shard)) {
                    throw refused(CheckpointTensors.INDEX_FILE + " names the shard " + shard
                            + ", which is not a file of the checkpoint folder");
                }
            }
        }
        long parameters = 0;
        try (CheckpointTensors tensors = CheckpointTensors.open(folder)) {
            for (TensorInfo tensor : tensors.tensors().values()) {
                parameters = Math.addExact(parameters, tensor.elementCount());
            }
        } catch (CheckpointFormatException e) {
            throw refused(withoutFolder(e.getMessage(), folder));
        } catch (ArithmeticException e) {
            throw refused("the checkpoint's tensor shapes add up to more parameters than Loupe can count");
        }
        if (parameters == 0) {
            throw refused("the checkpoint holds no parameters");
        }
        return parameters;
    }

    /** The shard files an index's weight map names; its form is checked by {@link CheckpointTensors}. */
    private static Set<String> shardNames(Path index) throws IOException {
        JsonNode weightMap;
        try {
            weightMap = JSON.readTree(index.toFile()).path("weight_map");
        } catch (JsonProcessingException e) {
            throw refused(CheckpointTensors.INDEX_FILE + " is not valid JSON: " + e.getOriginalMessage());
        }
        Set<String> shards = new HashSet<>();
        for (Iterator<JsonNode> values = weightMap.elements(); values.hasNext();) {
            JsonNode value = values.next();
            if (value.isTextual()) {
                shards.add(value.asText());
            }
        }
        return shards;
    }

    private static String nameOf(AccessDeniedException e) {
        Path file = e.getFile() == null ? null : Path.of(e.getFile()).getFileName();
        return file == null ? "everything" : file.toString();
    }

    /** The engine names files by their full path; the caller knows which folder they gave. */
    private static String withoutFolder(String message, Path folder) {
        return message.replace(folder + "/", "");
    }

    private static ProblemException refused(String detail) {
        return ProblemException.invalid(FIELD, detail);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
