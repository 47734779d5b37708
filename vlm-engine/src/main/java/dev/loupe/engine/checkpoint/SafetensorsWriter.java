package dev.loupe.engine.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Writes a safetensors file that Hugging Face's readers accept: tensors in the order added, data contiguous,
 * header padded with spaces to a multiple of 8 bytes. Values are given as 32-bit floats and stored as F32, F16
 * or BF16 (rounded to nearest even). The file is written beside its destination, forced to disk and renamed,
 * so a reader never sees half a checkpoint.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Entry(String name, DType dtype, long[] shape, float[] values) {
    }

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final List<Entry> entries = new ArrayList<>();

    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Adds a tensor; {@code values} is row-major and must hold exactly the shape's element count. */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, float[] values) {
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
            throw new IllegalArgumentException("only F32, F16 and BF16 are written, not " + dtype);
        }
        if (name.equals("__metadata__") || entries.stream().anyMatch(e -> e.name().equals(name))) {
            throw new IllegalArgumentException("tensor name " + name + " is reserved or already added");
        }
        TensorInfo info = new TensorInfo(name, dtype, shape, 0, 0);
        if (info.elementCount() != values.length) {
            throw new IllegalArgumentException(name + ": shape holds " + info.elementCount() + " elements, "
                    + values.length + " values given");
        }
        entries.add(new Entry(name, dtype, shape.clone(), values.clone()));
        return this;
    }

    public void write(Path destination) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Entry entry : entries) {
            long length = (long) entry.values().length * entry.dtype().byteSize();
            ObjectNode tensor = header.putObject(entry.name());
            tensor.put("dtype", entry.dtype().name());
            ArrayNode shape = tensor.putArray("shape");
            for (long dimension : entry.shape()) {
                shape.add(dimension);
            }
            tensor.putArray("data_offsets").add(offset).add(offset + length);
            offset += length;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();

        Path temporary = destination.resolveSibling(destination.getFileName() + ".tmp");
        try (FileChannel out = FileChannel.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(out, head);
            for (Entry entry : entries) {
                writeFully(out, encode(entry));
            }
            out.force(true);
        }
        Files.move(temporary, destination, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static ByteBuffer encode(Entry entry) {
        float[] values = entry.values();
        ByteBuffer bytes = ByteBuffer.allocate(values.length * entry.dtype().byteSize())
                .order(ByteOrder.LITTLE_ENDIAN);
        switch (entry.dtype()) {
            case F32 -> bytes.asFloatBuffer().put(values);
            case F16 -> {
                for (float value : values) {
                    bytes.putShort(HalfFloats.floatToF16(value));
                }
            }
            case BF16 -> {
                for (float value : values) {
                    bytes.putShort(HalfFloats.floatToBf16(value));
                }
            }
            default -> throw new IllegalStateException("checked in add");
        }
        bytes.position(0);
        bytes.limit(bytes.capacity());
        return bytes;
    }

    private static void writeFully(FileChannel out, ByteBuffer bytes) throws IOException {
        while (bytes.hasRemaining()) {
            out.write(bytes);
        }
    }
}
