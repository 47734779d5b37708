package dev.loupe.dataset.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The spool between the upload (one thread) and the validation that reads it while it still arrives. */
class UploadSpoolTest {
    private static final byte[] RECORDS = "{}\n".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    private UploadSpool spool() throws IOException {
        return new UploadSpool(dir, 1 << 20, 100);
    }

    @Test
    void aReaderWaitsForAnImageUntilItsLastPieceArrives() throws Exception {
        try (UploadSpool spool = spool()) {
            spool.appendRecords(RECORDS);
            CompletableFuture<Optional<byte[]>> read = CompletableFuture.supplyAsync(() -> image(spool, "a.png"));
            assertTrue(spool.appendImage("a.png", new byte[]{1, 2}, false), "the first image ends the records");
            assertThrows(TimeoutException.class, () -> read.get(200, TimeUnit.MILLISECONDS), "half a file");
            assertFalse(spool.appendImage("a.png", new byte[]{3}, true));
            assertArrayEquals(new byte[]{1, 2, 3}, read.get(5, TimeUnit.SECONDS).orElseThrow());
            try (InputStream records = spool.openRecords()) {
                assertArrayEquals(RECORDS, records.readAllBytes());
            }
        }
    }

    @Test
    void aFileTheUploadNeverSendsIsEmptyOnceItEnds() throws Exception {
        try (UploadSpool spool = spool()) {
            spool.appendRecords(RECORDS);
            CompletableFuture<Optional<byte[]>> read = CompletableFuture.supplyAsync(() -> image(spool, "b.png"));
            spool.appendImage("a.png", new byte[]{1}, true);
            assertThrows(TimeoutException.class, () -> read.get(200, TimeUnit.MILLISECONDS));
            assertFalse(spool.finish(), "the records were complete already");
            assertEquals(Optional.empty(), read.get(5, TimeUnit.SECONDS));
            spool.awaitFinished();
        }
    }

    @Test
    void anUploadThatBreaksOffFailsTheWaitingReader() throws Exception {
        try (UploadSpool spool = spool()) {
            spool.appendRecords(RECORDS);
            spool.appendImage("a.png", new byte[]{1}, false);
            CompletableFuture<Optional<byte[]>> read = CompletableFuture.supplyAsync(() -> image(spool, "a.png"));
            spool.fail(new IOException("client went away"));
            ExecutionException failure = assertThrows(ExecutionException.class, () -> read.get(5, TimeUnit.SECONDS));
            assertInstanceOf(IOException.class, failure.getCause().getCause());
            assertThrows(IOException.class, spool::awaitFinished);
        }
    }

    @Test
    void theRecordsFileComesFirst() throws Exception {
        try (UploadSpool spool = spool()) {
            assertThrows(UploadRefusedException.class, () -> spool.appendImage("a.png", new byte[]{1}, true));
        }
        try (UploadSpool spool = spool()) {
            spool.appendRecords(RECORDS);
            spool.appendImage("a.png", new byte[]{1}, true);
            assertThrows(UploadRefusedException.class, () -> spool.appendRecords(RECORDS));
        }
    }

    private static Optional<byte[]> image(UploadSpool spool, String name) {
        try {
            return spool.image(name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
