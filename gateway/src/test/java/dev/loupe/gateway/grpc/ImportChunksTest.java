package dev.loupe.gateway.grpc;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import io.smallrye.mutiny.helpers.test.AssertSubscriber;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.loupe.contracts.dataset.v1.ImageFileChunk;
import dev.loupe.contracts.dataset.v1.ImportChunk;
import dev.loupe.contracts.dataset.v1.ImportFormat;
import dev.loupe.contracts.dataset.v1.ImportStart;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The import stream read from an upload: piece sizes, last flags, and the images archive's limits. */
class ImportChunksTest {
    private static final int PIECE = ImportChunks.PIECE_BYTES;
    private static final ImageArchiveLimits DEFAULTS = new ImageArchiveLimits(10 * 1024 * 1024, 100_000,
            8L * 1024 * 1024 * 1024);
    private static final ImportStart START = ImportStart.newBuilder()
            .setDatasetId("d-1")
            .setFormat(ImportFormat.IMPORT_FORMAT_LOUPE)
            .setFileName("records.jsonl")
            .build();

    @TempDir
    Path dir;

    @Test
    void sendsStartThenEachFileInPiecesWithItsLastFlagThenTheRecords() throws IOException {
        byte[] big = random(2 * PIECE + 10);
        byte[] exact = random(PIECE);
        byte[] records = random(PIECE + 1);
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("pets/big.png", big);
        files.put("exact.png", exact);
        Path images = zip(files);

        List<ImportChunk> chunks = readAll(new ImportChunks(START, write("records.jsonl", records), images, DEFAULTS));

        assertEquals(START, chunks.get(0).getStart());
        List<ImageFileChunk> pieces = chunks.stream()
                .filter(ImportChunk::hasImageData)
                .map(ImportChunk::getImageData)
                .toList();
        assertEquals(List.of("pets/big.png", "pets/big.png", "pets/big.png", "exact.png"),
                pieces.stream().map(ImageFileChunk::getFileName).toList());
        assertEquals(List.of(PIECE, PIECE, 10, PIECE), pieces.stream().map(p -> p.getData().size()).toList());
        assertEquals(List.of(false, false, true, true), pieces.stream().map(ImageFileChunk::getLast).toList());
        assertArrayEquals(big, join(pieces.subList(0, 3).stream().map(p -> p.getData().toByteArray()).toList()));
        assertArrayEquals(exact, pieces.get(3).getData().toByteArray());

        // The records come first, right after the start, so the service validates while the images arrive.
        List<ImportChunk> recordPieces = chunks.subList(1, chunks.size() - pieces.size());
        assertTrue(recordPieces.stream().allMatch(c -> c.getChunkCase() == ImportChunk.ChunkCase.RECORDS_DATA));
        assertEquals(List.of(PIECE, 1), recordPieces.stream().map(c -> c.getRecordsData().size()).toList());
        assertArrayEquals(records, join(recordPieces.stream().map(c -> c.getRecordsData().toByteArray()).toList()));
    }

    @Test
    void emptyFileIsOneEmptyLastPieceAndFoldersAreSkipped() throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("pets/", null);
        files.put("pets/empty.png", new byte[0]);
        files.put("pets/cat.png", new byte[]{1, 2, 3});

        List<ImageFileChunk> pieces = readAll(new ImportChunks(START, records(), zip(files), DEFAULTS)).stream()
                .filter(ImportChunk::hasImageData)
                .map(ImportChunk::getImageData)
                .toList();

        assertEquals(2, pieces.size());
        assertEquals("pets/empty.png", pieces.get(0).getFileName());
        assertTrue(pieces.get(0).getData().isEmpty());
        assertTrue(pieces.get(0).getLast());
        assertEquals("pets/cat.png", pieces.get(1).getFileName());
        assertTrue(pieces.get(1).getLast());
    }

    @Test
    void withoutImagesSendsStartThenRecords() throws IOException {
        List<ImportChunk> chunks = readAll(new ImportChunks(START, records(), null, DEFAULTS));

        assertEquals(List.of(ImportChunk.ChunkCase.START, ImportChunk.ChunkCase.RECORDS_DATA),
                chunks.stream().map(ImportChunk::getChunkCase).toList());
    }

    @Test
    void namesArePassedAsTheyAre() throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("../../etc/passwd", new byte[]{1});

        List<ImportChunk> chunks = readAll(new ImportChunks(START, records(), zip(files), DEFAULTS));

        assertEquals("../../etc/passwd", chunks.get(chunks.size() - 1).getImageData().getFileName());
    }

    @Test
    void fileOverTheLimitIsRefusedNamingIt() throws IOException {
        ImageArchiveLimits limits = new ImageArchiveLimits(100_000, 100, 1_000_000);
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("ok.png", random(100_000));
        files.put("huge.png", random(100_001));
        Path images = zip(files);

        assertImagesProblem(() -> ImportChunks.checkArchive(images, limits), "'huge.png' is larger than");
        assertImagesProblem(() -> readAll(new ImportChunks(START, records(), images, limits)),
                "'huge.png' is larger than");
    }

    @Test
    void sizesAreCountedNotTakenFromTheHeaders() throws IOException {
        ImageArchiveLimits limits = new ImageArchiveLimits(100_000, 100, 1_000_000);
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("liar.png", random(300_000));
        Path images = zip(files);
        declareUncompressedSize(images, 10);

        // The central directory now claims 10 bytes: the early check believes it, the stream does not.
        assertDoesNotThrow(() -> ImportChunks.checkArchive(images, limits));
        assertImagesProblem(() -> readAll(new ImportChunks(START, records(), images, limits)),
                "'liar.png' is larger than");
    }

    @Test
    void fileThatExpandsOverTheRatioIsRefusedAsABomb() throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("bomb.png", new byte[2 * 1024 * 1024]);
        Path bomb = zip(files);

        assertImagesProblem(() -> ImportChunks.checkArchive(bomb, DEFAULTS), "'bomb.png' expands to more than 100");
        assertImagesProblem(() -> readAll(new ImportChunks(START, records(), bomb, DEFAULTS)),
                "'bomb.png' expands to more than 100");
    }

    @Test
    void smallOrIncompressibleFilesAreNotHeldToTheRatio() throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("small-zeros.png", new byte[1024 * 1024]);
        files.put("big-noise.png", random(2 * 1024 * 1024));
        Path images = zip(files);

        assertDoesNotThrow(() -> ImportChunks.checkArchive(images, DEFAULTS));
        assertEquals(2, readAll(new ImportChunks(START, records(), images, DEFAULTS)).stream()
                .filter(c -> c.hasImageData() && c.getImageData().getLast())
                .count());
    }

    @Test
    void tooManyEntriesAreRefused() throws IOException {
        ImageArchiveLimits limits = new ImageArchiveLimits(1000, 3, 1_000_000);
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (int i = 0; i < 4; i++) {
            files.put(i + ".png", new byte[]{(byte) i});
        }
        Path images = zip(files);

        assertImagesProblem(() -> ImportChunks.checkArchive(images, limits), "more than the limit of 3 entries");
        assertImagesProblem(() -> readAll(new ImportChunks(START, records(), images, limits)),
                "more than the limit of 3 entries");
    }

    @Test
    void totalOverTheLimitIsRefused() throws IOException {
        ImageArchiveLimits limits = new ImageArchiveLimits(100_000, 100, 150_000);
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("a.png", random(100_000));
        files.put("b.png", random(100_000));
        Path images = zip(files);

        assertImagesProblem(() -> ImportChunks.checkArchive(images, limits), "add up to more than the limit");
        assertImagesProblem(() -> readAll(new ImportChunks(START, records(), images, limits)),
                "add up to more than the limit");
    }

    @Test
    void notAZipIsRefused() throws IOException {
        Path notZip = write("images.zip", random(5000));

        assertImagesProblem(() -> ImportChunks.checkArchive(notZip, DEFAULTS), "not a readable zip");
        assertImagesProblem(() -> readAll(new ImportChunks(START, records(), notZip, DEFAULTS)),
                "not a readable zip");
    }

    @Test
    void corruptFileDataIsRefusedNamingTheFile() throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("broken.png", random(50_000));
        Path images = zip(files);
        corruptFirstFileData(images);

        assertImagesProblem(() -> readAll(new ImportChunks(START, records(), images, DEFAULTS)),
                "'broken.png' cannot be read");
    }

    @Test
    void streamReadsOnTheGivenExecutorOnlyAsAskedAndClosesWhenCancelled() throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("a.png", random(3 * PIECE));
        ExecutorService reader = Executors.newSingleThreadExecutor(task -> new Thread(task, "import-reader"));
        try {
            List<String> threads = new java.util.concurrent.CopyOnWriteArrayList<>();
            AssertSubscriber<ImportChunk> subscriber = ImportChunks
                    .stream(START, records(), zip(files), DEFAULTS, reader)
                    .onItem()
                    .invoke(() -> threads.add(Thread.currentThread().getName()))
                    .subscribe()
                    .withSubscriber(AssertSubscriber.create(2));

            subscriber.awaitItems(2);
            assertEquals(2, subscriber.getItems().size());
            assertEquals(List.of("import-reader", "import-reader"), threads);
            assertFalse(subscriber.getItems().get(1).getImageData().getLast());

            subscriber.request(10).awaitCompletion();
            assertEquals(1 + 3 + 1, subscriber.getItems().size());
        } finally {
            reader.shutdownNow();
        }
    }

    private static void assertImagesProblem(org.junit.jupiter.api.function.Executable action, String detail) {
        ProblemException problem = assertThrows(ProblemException.class, action);
        assertEquals(ProblemType.INVALID_REQUEST, problem.type());
        assertEquals("images", problem.field().orElse(null));
        assertTrue(problem.detail().contains(detail), problem.detail());
    }

    private static List<ImportChunk> readAll(ImportChunks chunks) {
        try (chunks) {
            List<ImportChunk> all = new ArrayList<>();
            chunks.forEachRemaining(all::add);
            return all;
        }
    }

    private Path records() throws IOException {
        return write("records.jsonl", "{\"messages\": []}\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private Path write(String name, byte[] content) throws IOException {
        return Files.write(dir.resolve(name), content);
    }

    /** A zip of the files in order, each deflated; a null content makes a folder entry. */
    private Path zip(Map<String, byte[]> files) throws IOException {
        Path zip = Files.createTempFile(dir, "images", ".zip");
        try (OutputStream out = Files.newOutputStream(zip); ZipOutputStream zipped = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> file : files.entrySet()) {
                zipped.putNextEntry(new ZipEntry(file.getKey()));
                if (file.getValue() != null) {
                    zipped.write(file.getValue());
                }
                zipped.closeEntry();
            }
        }
        return zip;
    }

    /** Rewrites the uncompressed size in every central directory header, as a forged archive would. */
    private static void declareUncompressedSize(Path zip, int size) throws IOException {
        byte[] bytes = Files.readAllBytes(zip);
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i + 46 <= bytes.length; i++) {
            if (buffer.getInt(i) == 0x02014b50) {
                buffer.putInt(i + 24, size);
            }
        }
        Files.write(zip, bytes);
    }

    /** Overwrites the start of the first file's deflated data with bytes that are no valid deflate block. */
    private static void corruptFirstFileData(Path zip) throws IOException {
        byte[] bytes = Files.readAllBytes(zip);
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int data = 30 + Short.toUnsignedInt(buffer.getShort(26)) + Short.toUnsignedInt(buffer.getShort(28));
        for (int i = data; i < data + 16; i++) {
            bytes[i] = (byte) 0xFF;
        }
        Files.write(zip, bytes);
    }

    private static byte[] random(int size) {
        byte[] bytes = new byte[size];
        new Random(size).nextBytes(bytes);
        return bytes;
    }

    private static byte[] join(List<byte[]> parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        parts.forEach(out::writeBytes);
        return out.toByteArray();
    }
}
