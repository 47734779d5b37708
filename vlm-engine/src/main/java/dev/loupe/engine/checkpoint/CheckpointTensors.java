package dev.loupe.engine.checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The tensors of a checkpoint folder in the Hugging Face layout: one {@code model.safetensors}, or shards
 * listed by {@code model.safetensors.index.json} ({@code weight_map}: tensor name to shard file). Reads only
 * files inside the folder; nothing is ever downloaded.
 */
public final class CheckpointTensors implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, SafetensorsFile> fileByTensor;
    private final List<SafetensorsFile> files;

    private CheckpointTensors(Map<String, SafetensorsFile> fileByTensor, List<SafetensorsFile> files) {
        this.fileByTensor = fileByTensor;
        this.files = files;
    }

    public static CheckpointTensors open(Path folder) throws IOException {
        Path index = folder.resolve(INDEX_FILE);
        List<SafetensorsFile> files = new ArrayList<>();
        Map<String, SafetensorsFile> fileByTensor = new LinkedHashMap<>();
        try {
            if (Files.exists(index)) {
                Map<String, SafetensorsFile> byShard = new LinkedHashMap<>();
                for (Map.Entry<String, String> entry : weightMap(index).entrySet()) {
                    SafetensorsFile shard = byShard.get(entry.getValue());
                    if (shard == null) {
                        shard = SafetensorsFile.open(shardPath(folder, index, entry.getValue()));
                        byShard.put(entry.getValue(), shard);
                        files.add(shard);
                    }
                    if (!shard.tensors().containsKey(entry.getKey())) {
                        throw new CheckpointFormatException(index + ": " + entry.getKey() + " is mapped to "
                                + entry.getValue() + ", which does not hold it");
                    }
                    fileByTensor.put(entry.getKey(), shard);
                }
            } else {
                SafetensorsFile single = SafetensorsFile.open(folder.resolve(SINGLE_FILE));
                files.add(single);
                single.tensors().keySet().forEach(name -> fileByTensor.put(name, single));
            }
        } catch (IOException | RuntimeException e) {
            for (SafetensorsFile file : files) {
                file.close();
            }
            throw e;
        }
        return new CheckpointTensors(Collections.unmodifiableMap(fileByTensor), List.copyOf(files));
    }

    /** Every tensor, in index (or header) order. */
    public Map<String, TensorInfo> tensors() {
        Map<String, TensorInfo> all = new LinkedHashMap<>();
        fileByTensor.forEach((name, file) -> all.put(name, file.tensors().get(name)));
        return all;
    }

    public float[] readFloats(String name) throws IOException {
        SafetensorsFile file = fileByTensor.get(name);
        if (file == null) {
            throw new CheckpointFormatException("the checkpoint has no tensor named " + name);
        }
        return file.readFloats(name);
    }

    private static Map<String, String> weightMap(Path index) throws IOException {
        JsonNode map;
        try {
            map = JSON.readTree(index.toFile()).path("weight_map");
        } catch (IOException e) {
            throw new CheckpointFormatException(index + ": not valid JSON", e);
        }
        if (!map.isObject() || map.isEmpty()) {
            throw new CheckpointFormatException(index + ": weight_map is missing or empty");
        }
        Map<String, String> weights = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> fields = map.fields(); fields.hasNext();) {
            Map.Entry<String, JsonNode> field = fields.next();
            if (!field.getValue().isTextual()) {
                throw new CheckpointFormatException(index + ": weight_map." + field.getKey() + " is not a file name");
            }
            weights.put(field.getKey(), field.getValue().asText());
        }
        return weights;
    }

    /** A shard named by the index, which must lie in the checkpoint folder itself. */
    private static Path shardPath(Path folder, Path index, String fileName) throws CheckpointFormatException {
        if (fileName.isEmpty() || fileName.contains("/") || fileName.contains("\\") || fileName.equals(".")
                || fileName.equals("..")) {
            throw new CheckpointFormatException(index + ": shard " + fileName + " is outside the checkpoint folder");
        }
        return folder.resolve(fileName);
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (SafetensorsFile file : files) {
            try {
                file.close();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
