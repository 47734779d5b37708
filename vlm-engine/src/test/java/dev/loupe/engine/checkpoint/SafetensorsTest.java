package dev.loupe.engine.checkpoint;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsTest {
    @TempDir
    Path folder;

    private static float[] random(int n, long seed) {
        Random random = new Random(seed);
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return values;
    }

    private static float[] through16Bits(float[] values, DType dtype) {
        float[] expected = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            expected[i] = dtype == DType.F16
                    ? HalfFloats.f16ToFloat(HalfFloats.floatToF16(values[i]))
                    : HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(values[i]));
        }
        return expected;
    }

    @Test
    void f32F16AndBf16TensorsRoundTrip() throws IOException {
        float[] weight = random(6 * 4, 1);
        float[] bias = random(6, 2);
        float[] embedding = random(10 * 3, 3);
        Path file = folder.resolve(CheckpointTensors.SINGLE_FILE);
        new SafetensorsWriter().metadata("format", "pt")
                .add("model.proj.weight", DType.F32, new long[]{6, 4}, weight)
                .add("model.proj.bias", DType.F16, new long[]{6}, bias)
                .add("model.embed_tokens.weight", DType.BF16, new long[]{10, 3}, embedding)
                .write(file);

        try (SafetensorsFile read = SafetensorsFile.open(file)) {
            assertEquals(Map.of("format", "pt"), read.metadata());
            assertEquals(List.of("model.proj.weight", "model.proj.bias", "model.embed_tokens.weight"),
                    List.copyOf(read.tensors().keySet()));
            assertArrayEquals(new long[]{10, 3}, read.tensors().get("model.embed_tokens.weight").shape());
            assertArrayEquals(weight, read.readFloats("model.proj.weight"));
            assertArrayEquals(through16Bits(bias, DType.F16), read.readFloats("model.proj.bias"));
            assertArrayEquals(through16Bits(embedding, DType.BF16), read.readFloats("model.embed_tokens.weight"));
        }
        // The header is padded to 8 bytes, as Hugging Face's writer does.
        ByteBuffer start = ByteBuffer.wrap(Files.readAllBytes(file), 0, 8).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0, start.getLong() % 8);
    }

    @Test
    void shardedCheckpointLoadsEveryTensorFromItsShard() throws IOException {
        float[] a = random(8, 4);
        float[] b = random(12, 5);
        new SafetensorsWriter().add("a", DType.F32, new long[]{2, 4}, a)
                .write(folder.resolve("model-00001-of-00002.safetensors"));
        new SafetensorsWriter().add("b", DType.BF16, new long[]{3, 4}, b)
                .write(folder.resolve("model-00002-of-00002.safetensors"));
        Files.writeString(folder.resolve(CheckpointTensors.INDEX_FILE), """
                {"metadata": {"total_size": 56},
                 "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
                """);
        try (CheckpointTensors checkpoint = CheckpointTensors.open(folder)) {
            assertEquals(List.of("a", "b"), List.copyOf(checkpoint.tensors().keySet()));
            assertArrayEquals(a, checkpoint.readFloats("a"));
            assertArrayEquals(through16Bits(b, DType.BF16), checkpoint.readFloats("b"));
        }
    }

    @Test
    void indexPointingOutsideTheFolderOrAtTheWrongShardIsRefused() throws IOException {
        new SafetensorsWriter().add("a", DType.F32, new long[]{1}, new float[]{1})
                .write(folder.resolve("shard.safetensors"));
        Files.writeString(folder.resolve(CheckpointTensors.INDEX_FILE),
                "{\"weight_map\": {\"a\": \"../elsewhere.safetensors\"}}");
        assertTrue(assertThrows(CheckpointFormatException.class, () -> CheckpointTensors.open(folder)).getMessage()
                .contains("outside the checkpoint folder"));
        Files.writeString(folder.resolve(CheckpointTensors.INDEX_FILE),
                "{\"weight_map\": {\"b\": \"shard.safetensors\"}}");
        assertTrue(assertThrows(CheckpointFormatException.class, () -> CheckpointTensors.open(folder)).getMessage()
                .contains("b is mapped to shard.safetensors"));
    }

    @Test
    void tensorBeyondTwoGibibytesLoads() throws IOException {
        // A sparse file: the tensor's data starts past 2^31 bytes, where int offsets overflow.
        long begin = (1L << 31) + 64;
        float[] values = {1.5f, -2.25f, 3f, 0.125f};
        byte[] header = ("{\"far\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[" + begin + "," + (begin + 16)
                + "]}}").getBytes(StandardCharsets.UTF_8);
        Path file = folder.resolve("big.safetensors");
        try (RandomAccessFile out = new RandomAccessFile(file.toFile(), "rw")) {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length);
            out.write(length.array());
            out.write(header);
            long dataStart = 8 + header.length;
            out.seek(dataStart + begin);
            ByteBuffer data = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            for (float value : values) {
                data.putFloat(value);
            }
            out.write(data.array());
        }
        try (SafetensorsFile read = SafetensorsFile.open(file)) {
            assertArrayEquals(values, read.readFloats("far"));
        }
    }

    @Test
    void malformedHeadersNameWhatIsWrong() throws IOException {
        assertRefused("{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,64]}}", 16,
                "outside the data section");
        assertRefused("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", 16, "need 12 bytes");
        assertRefused("{\"t\":{\"dtype\":\"Q4\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16, "unknown dtype");
        assertRefused("{\"t\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}", 16, "shape[0]");
        assertRefused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 16, "overlap");
        assertRefused("not json", 16, "not valid JSON");

        Path lying = folder.resolve("lying.safetensors");
        Files.write(lying, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array());
        assertTrue(assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(lying)).getMessage()
                .contains("header length"));
    }

    private void assertRefused(String header, int dataBytes, String expected) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer file = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        file.putLong(json.length).put(json);
        Path path = folder.resolve("bad.safetensors");
        Files.write(path, file.array());
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(path));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
