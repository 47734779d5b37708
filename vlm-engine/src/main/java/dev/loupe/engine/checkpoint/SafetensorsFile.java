package dev.loupe.engine.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * One safetensors file, read through memory maps (or from bytes in memory) so that files and shards far larger than 2 GiB load (DJL's
 * own decoder indexes with {@code int}).
 *
 * <p>
 * Layout: an 8-byte little-endian header length {@code N}; {@code N} bytes of JSON mapping each tensor name
 * to {@code {"dtype", "shape", "data_offsets": [begin, end]}} (plus an optional {@code __metadata__} map of
 * strings); then the data section, which the offsets are relative to. Every header field is checked against
 * the file before any tensor is read.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Headers larger than this are refused; real checkpoints' headers are well under 1 MiB. */
    static final long MAX_HEADER_BYTES = 100L << 20;
    /** Largest region mapped at once: a tensor above it is read in several maps. */
    static final int MAX_MAP_BYTES = 1 << 30;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Where the bytes come from: a file read through maps, or bytes already in memory. */
    private interface Source extends AutoCloseable {
        long size() throws IOException;

        /** {@code length} bytes from {@code position}, little-endian. */
        ByteBuffer read(long position, int length) throws IOException;

        @Override
        void close() throws IOException;
    }

    private record FileSource(FileChannel channel) implements Source {
        @Override
        public long size() throws IOException {
            return channel.size();
        }

        @Override
        public ByteBuffer read(long position, int length) throws IOException {
            return channel.map(FileChannel.MapMode.READ_ONLY, position, length).order(ByteOrder.LITTLE_ENDIAN);
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    private record MemorySource(ByteBuffer bytes) implements Source {
        @Override
        public long size() {
            return bytes.capacity();
        }

        @Override
        public ByteBuffer read(long position, int length) {
            return bytes.slice((int) position, length).order(ByteOrder.LITTLE_ENDIAN);
        }

        @Override
        public void close() {
            // Nothing to release: the bytes are the caller's.
        }
    }

    private final String name;
    private final Source source;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(String name, Source source, long dataStart, Map<String, TensorInfo> tensors,
            Map<String, String> metadata) {
        this.name = name;
        this.source = source;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /**
     * Opens a file and checks its header.
     *
     * @throws CheckpointFormatException naming the file and the field at fault
     */
    public static SafetensorsFile open(Path path) throws IOException {
        return parse(path.toString(), new FileSource(FileChannel.open(path, StandardOpenOption.READ)));
    }

    /**
     * Reads a safetensors file held in memory (an adapter decrypted for serving, which is never written to a
     * disk), checking its header like {@link #open}.
     *
     * @param name names the bytes in error messages
     */
    public static SafetensorsFile read(String name, byte[] bytes) throws IOException {
        return parse(name, new MemorySource(ByteBuffer.wrap(bytes)));
    }

    private static SafetensorsFile parse(String path, Source source) throws IOException {
        try {
            long size = source.size();
            if (size < 8) {
                throw new CheckpointFormatException(path + ": too short to be a safetensors file");
            }
            long headerLength = source.read(0, 8).getLong();
            if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES || headerLength > size - 8) {
                throw new CheckpointFormatException(path + ": header length " + headerLength
                        + " is not between 1 and the file size (" + size + " bytes, header limit "
                        + MAX_HEADER_BYTES + ")");
            }
            byte[] headerBytes = new byte[(int) headerLength];
            source.read(8, (int) headerLength).get(headerBytes);
            long dataStart = 8 + headerLength;
            JsonNode header;
            try {
                header = JSON.readTree(new String(headerBytes, StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new CheckpointFormatException(path + ": header is not valid JSON", e);
            }
            if (header == null || !header.isObject()) {
                throw new CheckpointFormatException(path + ": header is not a JSON object");
            }
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> fields = header.fields(); fields.hasNext();) {
                Map.Entry<String, JsonNode> field = fields.next();
                if (field.getKey().equals("__metadata__")) {
                    readMetadata(path, field.getValue(), metadata);
                } else {
                    tensors.put(field.getKey(), parseTensor(path, field.getKey(), field.getValue(), size - dataStart));
                }
            }
            checkNoOverlap(path, tensors.values());
            return new SafetensorsFile(path, source, dataStart, Collections.unmodifiableMap(tensors),
                    Collections.unmodifiableMap(metadata));
        } catch (IOException | RuntimeException e) {
            source.close();
            throw e;
        }
    }

    /** The tensors in header order. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /** The header's {@code __metadata__} strings. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** A tensor's values widened (or, for F64, narrowed) to 32-bit floats, in row-major order. */
    public float[] readFloats(String name) throws IOException {
        TensorInfo tensor = tensor(name);
        if (!tensor.dtype().isFloatingPoint()) {
            throw new CheckpointFormatException(this.name + ": tensor " + name + " is " + tensor.dtype()
                    + ", not a floating-point type");
        }
        long count = tensor.elementCount();
        if (count > Integer.MAX_VALUE - 8) {
            throw new CheckpointFormatException(this.name + ": tensor " + name + " has " + count
                    + " elements, more than one Java array holds");
        }
        float[] values = new float[(int) count];
        int elementSize = tensor.dtype().byteSize();
        int elementsPerMap = MAX_MAP_BYTES / elementSize;
        for (long first = 0; first < count; first += elementsPerMap) {
            int n = (int) Math.min(elementsPerMap, count - first);
            ByteBuffer bytes = source.read(dataStart + tensor.begin() + first * elementSize, n * elementSize);
            decode(tensor.dtype(), bytes, values, (int) first, n);
        }
        return values;
    }

    private TensorInfo tensor(String name) throws CheckpointFormatException {
        TensorInfo tensor = tensors.get(name);
        if (tensor == null) {
            throw new CheckpointFormatException(this.name + ": no tensor named " + name);
        }
        return tensor;
    }

    private static void decode(DType dtype, ByteBuffer bytes, float[] into, int offset, int count) {
        switch (dtype) {
            case F32 -> bytes.asFloatBuffer().get(into, offset, count);
            case F64 -> {
                for (int i = 0; i < count; i++) {
                    into[offset + i] = (float) bytes.getDouble(i * 8);
                }
            }
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    into[offset + i] = HalfFloats.f16ToFloat(bytes.getShort(i * 2));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    into[offset + i] = HalfFloats.bf16ToFloat(bytes.getShort(i * 2));
                }
            }
            default -> throw new IllegalArgumentException(dtype + " is not a floating-point type");
        }
    }

    private static void readMetadata(String path, JsonNode node, Map<String, String> into)
            throws CheckpointFormatException {
        if (!node.isObject()) {
            throw new CheckpointFormatException(path + ": __metadata__ is not an object");
        }
        for (Iterator<Map.Entry<String, JsonNode>> fields = node.fields(); fields.hasNext();) {
            Map.Entry<String, JsonNode> field = fields.next();
            if (!field.getValue().isTextual()) {
                throw new CheckpointFormatException(path + ": __metadata__." + field.getKey() + " is not a string");
            }
            into.put(field.getKey(), field.getValue().asText());
        }
    }

    private static TensorInfo parseTensor(String path, String name, JsonNode node, long dataSize)
            throws CheckpointFormatException {
        String where = path + ": tensor " + name;
        if (!node.isObject()) {
            throw new CheckpointFormatException(where + " is not an object");
        }
        DType dtype = DType.fromHeaderName(node.path("dtype").asText(""))
                .orElseThrow(() -> new CheckpointFormatException(where + ": unknown dtype " + node.get("dtype")));
        JsonNode shapeNode = node.path("shape");
        JsonNode offsets = node.path("data_offsets");
        if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
            throw new CheckpointFormatException(where + ": needs a shape array and two data_offsets");
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode dimension = shapeNode.get(i);
            if (!dimension.canConvertToLong() || !dimension.isIntegralNumber() || dimension.asLong() < 0) {
                throw new CheckpointFormatException(where + ": shape[" + i + "] is not a non-negative integer");
            }
            shape[i] = dimension.asLong();
        }
        if (!offsets.get(0).isIntegralNumber() || !offsets.get(1).isIntegralNumber()) {
            throw new CheckpointFormatException(where + ": data_offsets are not integers");
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        if (begin < 0 || end < begin || end > dataSize) {
            throw new CheckpointFormatException(where + ": data_offsets [" + begin + ", " + end
                    + "] lie outside the data section (" + dataSize + " bytes)");
        }
        TensorInfo tensor = new TensorInfo(name, dtype, shape, begin, end);
        long expected;
        try {
            expected = Math.multiplyExact(tensor.elementCount(), dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new CheckpointFormatException(where + ": shape is too large");
        }
        if (expected != end - begin) {
            throw new CheckpointFormatException(where + ": shape and dtype need " + expected + " bytes, offsets give "
                    + (end - begin));
        }
        return tensor;
    }

    private static void checkNoOverlap(String path, Iterable<TensorInfo> tensors) throws CheckpointFormatException {
        List<TensorInfo> sorted = new ArrayList<>();
        tensors.forEach(sorted::add);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        for (int i = 1; i < sorted.size(); i++) {
            TensorInfo previous = sorted.get(i - 1);
            TensorInfo current = sorted.get(i);
            if (current.begin() < previous.end()) {
                throw new CheckpointFormatException(path + ": tensors " + previous.name() + " and " + current.name()
                        + " overlap");
            }
        }
    }

    @Override
    public void close() throws IOException {
        source.close();
    }
}
