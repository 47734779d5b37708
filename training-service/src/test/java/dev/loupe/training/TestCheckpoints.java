package dev.loupe.training;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * Tiny Hugging Face LLaVA checkpoint folders written by the tests: a valid {@code config.json}, safetensors files
 * written here byte by byte, and a {@code tokenizer.json}. Their weights are not a working model: base model
 * registration reads headers and hashes, never weights. (Only JDK classes here: the helper is loaded both by
 * Quarkus' test class loader and by plain JUnit tests and test profiles.)
 */
public final class TestCheckpoints {
    /** Elements of the tensors {@link #write} puts into {@code model.safetensors}: 2 x 3 + 4. */
    public static final long PARAMETERS = 10;

    public static final String CONFIG = """
            {
              "model_type": "llava",
              "image_token_index": 3,
              "projector_hidden_act": "gelu",
              "vision_feature_layer": -1,
              "vision_feature_select_strategy": "default",
              "vision_config": {"hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1,
                "num_attention_heads": 2, "image_size": 8, "patch_size": 4, "layer_norm_eps": 1e-5},
              "text_config": {"model_type": "llama", "vocab_size": 16, "hidden_size": 8, "intermediate_size": 16,
                "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "rms_norm_eps": 1e-6,
                "rope_theta": 10000, "max_position_embeddings": 64, "tie_word_embeddings": false}
            }
            """;

    public static final String TOKENIZER = "{\"version\": \"1.0\", \"model\": {\"type\": \"BPE\", \"vocab\": {}}}";

    private TestCheckpoints() {
    }

    /** Writes a complete single-file checkpoint into {@code folder} (created if missing) and returns it. */
    public static Path write(Path folder) throws IOException {
        Files.createDirectories(folder);
        Files.writeString(folder.resolve("config.json"), CONFIG);
        Files.writeString(folder.resolve("tokenizer.json"), TOKENIZER);
        safetensors(folder.resolve("model.safetensors"),
                "{\"a\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]},"
                        + " \"b\": {\"dtype\": \"F16\", \"shape\": [4], \"data_offsets\": [24, 32]}}",
                32);
        return folder;
    }

    /** Writes a checkpoint sharded in two files with an index; 6 + 8 parameters. */
    public static Path writeSharded(Path folder) throws IOException {
        Files.createDirectories(folder);
        Files.writeString(folder.resolve("config.json"), CONFIG);
        Files.writeString(folder.resolve("tokenizer.json"), TOKENIZER);
        safetensors(folder.resolve("model-00001-of-00002.safetensors"),
                "{\"a\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]}}", 24);
        safetensors(folder.resolve("model-00002-of-00002.safetensors"),
                "{\"__metadata__\": {\"format\": \"pt\"},"
                        + " \"b\": {\"dtype\": \"BF16\", \"shape\": [2, 2, 2], \"data_offsets\": [0, 16]}}",
                16);
        Files.writeString(folder.resolve("model.safetensors.index.json"), """
                {"metadata": {"total_size": 40}, "weight_map": {
                  "a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
                """);
        return folder;
    }

    /**
     * Writes a safetensors file: the 8-byte little-endian length of the JSON header (padded with spaces to a
     * multiple of 8, as Hugging Face's writer does), the header, and {@code dataBytes} of zeros.
     */
    static void safetensors(Path file, String header, int dataBytes) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer bytes = ByteBuffer.allocate(8 + padded + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putLong(padded).put(json);
        while (bytes.position() < 8 + padded) {
            bytes.put((byte) ' ');
        }
        Files.write(file, bytes.array());
    }

    /** The content hash by its definition in the contract, computed here independently of the service. */
    public static String contentHash(Path folder) throws IOException {
        Map<String, String> hashes = fileHashes(folder);
        StringBuilder lines = new StringBuilder();
        hashes.forEach((name, hash) -> lines.append(name).append('\u0000').append(hash).append('\n'));
        return sha256(lines.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** Every regular file of the folder by name, with its SHA-256. */
    public static Map<String, String> fileHashes(Path folder) throws IOException {
        Map<String, String> hashes = new TreeMap<>();
        try (var files = Files.list(folder)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                try (InputStream in = Files.newInputStream(file)) {
                    hashes.put(file.getFileName().toString(), sha256(in.readAllBytes()));
                }
            }
        }
        return hashes;
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
