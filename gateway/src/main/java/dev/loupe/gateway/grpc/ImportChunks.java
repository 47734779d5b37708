package dev.loupe.gateway.grpc;

import java.io.IOException;
import java.io.InputStream;
import java.io.PushbackInputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.Executor;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import com.google.protobuf.ByteString;
import io.smallrye.mutiny.Multi;

import dev.loupe.contracts.dataset.v1.ImageFileChunk;
import dev.loupe.contracts.dataset.v1.ImportChunk;
import dev.loupe.contracts.dataset.v1.ImportStart;
import dev.loupe.support.error.ProblemException;

/**
 * The messages of one {@code ImportRecords} call, read lazily from the uploaded files: the {@link ImportStart},
 * then the records file in pieces of at most {@link #PIECE_BYTES}, then every file of the images archive in
 * pieces (the last piece of each file flagged, an empty file sent as one empty last piece, folders skipped, names
 * passed as they are). Records come first so that the dataset-service validates them while the images still
 * arrive. One piece is in memory at a time.
 *
 * <p>
 * The archive's sizes are counted as its files are read, never taken from its headers. A file over the size
 * limit, an archive over its entry or total limit, a file that expands more than
 * {@link ImageArchiveLimits#MAX_COMPRESSION_RATIO} times, or a corrupt archive fails with a 400 problem naming
 * the {@code images} field. Reading blocks: iterate on a worker thread, as {@link #stream} does.
 */
public final class ImportChunks implements Iterator<ImportChunk>, AutoCloseable {
    /** Size of the pieces files are sent in, well under gRPC's default 4 MiB message limit. */
    public static final int PIECE_BYTES = 64 * 1024;

    private static final String FIELD = "images";

    private final ImportStart start;
    private final Path records;
    private final Path images;
    private final ImageArchiveLimits limits;
    private final byte[] buffer = new byte[PIECE_BYTES];

    private boolean startSent;
    private ZipFile archive;
    private Enumeration<? extends ZipEntry> entries;
    private boolean recordsDone;
    private boolean imagesDone;
    private int entriesSeen;
    private long archiveBytes;
    private ZipEntry entry;
    private PushbackInputStream entryData;
    private long entryBytes;
    private InputStream recordsData;
    private boolean done;
    private ImportChunk next;

    /**
     * @param images the zip of images, or null when the upload has none
     */
    public ImportChunks(ImportStart start, Path records, Path images, ImageArchiveLimits limits) {
        this.start = start;
        this.records = records;
        this.images = images;
        this.limits = limits;
    }

    /**
     * The messages as a stream that reads the files only as its subscriber asks for messages, on the given
     * executor, and closes them when it ends, fails or is cancelled.
     */
    public static Multi<ImportChunk> stream(ImportStart start, Path records, Path images, ImageArchiveLimits limits,
            Executor executor) {
        return Multi.createFrom()
                .resource(() -> new ImportChunks(start, records, images, limits),
                        chunks -> Multi.createFrom().iterable(() -> chunks))
                .withFinalizer(ImportChunks::close)
                .runSubscriptionOn(executor);
    }

    /**
     * Refuses, before anything is sent, an archive that is not a zip or that its own central directory shows to
     * break the limits. Passing this check proves nothing about the files' real sizes, which are counted while
     * they are sent.
     */
    public static void checkArchive(Path images, ImageArchiveLimits limits) {
        try (ZipFile zip = new ZipFile(images.toFile())) {
            if (zip.size() > limits.maxEntries()) {
                throw tooManyEntries(limits);
            }
            long declaredTotal = 0;
            Enumeration<? extends ZipEntry> all = zip.entries();
            while (all.hasMoreElements()) {
                ZipEntry declared = all.nextElement();
                if (declared.isDirectory() || declared.getSize() < 0) {
                    continue;
                }
                checkFileSize(declared, declared.getSize(), limits);
                declaredTotal += declared.getSize();
                checkTotal(declaredTotal, limits);
            }
        } catch (IOException | IllegalArgumentException e) {
            // ZipFile reports a malformed central directory or entry name with either.
            throw ProblemException.invalid(FIELD, "images is not a readable zip archive");
        }
    }

    @Override
    public boolean hasNext() {
        if (next == null && !done) {
            try {
                next = read();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (next == null) {
                done = true;
                close();
            }
        }
        return next != null;
    }

    @Override
    public ImportChunk next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        ImportChunk chunk = next;
        next = null;
        return chunk;
    }

    /** Closes whatever file is open; safe to call more than once. */
    @Override
    public void close() {
        closeQuietly(entryData);
        entryData = null;
        closeQuietly(archive);
        archive = null;
        closeQuietly(recordsData);
        recordsData = null;
    }

    private ImportChunk read() throws IOException {
        if (!startSent) {
            startSent = true;
            return ImportChunk.newBuilder().setStart(start).build();
        }
        if (!recordsDone) {
            ImportChunk piece = nextRecordsPiece();
            if (piece != null) {
                return piece;
            }
            recordsDone = true;
            closeQuietly(recordsData);
            recordsData = null;
        }
        return images != null && !imagesDone ? nextImagePiece() : null;
    }

    private ImportChunk nextImagePiece() {
        String name = null;
        try {
            if (archive == null) {
                archive = new ZipFile(images.toFile());
                entries = archive.entries();
            }
            while (entryData == null) {
                if (!entries.hasMoreElements()) {
                    closeQuietly(archive);
                    archive = null;
                    imagesDone = true;
                    return null;
                }
                ZipEntry candidate = entries.nextElement();
                if (++entriesSeen > limits.maxEntries()) {
                    throw tooManyEntries(limits);
                }
                if (!candidate.isDirectory()) {
                    entry = candidate;
                    entryBytes = 0;
                    entryData = new PushbackInputStream(archive.getInputStream(candidate), 1);
                }
            }
            name = entry.getName();
            int read = entryData.readNBytes(buffer, 0, PIECE_BYTES);
            count(read);
            boolean last = read < PIECE_BYTES || atEnd(entryData);
            ImportChunk piece = ImportChunk.newBuilder()
                    .setImageData(ImageFileChunk.newBuilder()
                            .setFileName(name)
                            .setData(ByteString.copyFrom(buffer, 0, read))
                            .setLast(last))
                    .build();
            if (last) {
                entryData.close();
                entryData = null;
                entry = null;
            }
            return piece;
        } catch (IOException | IllegalArgumentException e) {
            throw ProblemException.invalid(FIELD, name == null
                    ? "images is not a readable zip archive"
                    : "image file '" + name + "' cannot be read: the images archive is corrupt");
        }
    }

    private ImportChunk nextRecordsPiece() throws IOException {
        if (recordsData == null) {
            recordsData = Files.newInputStream(records);
        }
        int read = recordsData.readNBytes(buffer, 0, PIECE_BYTES);
        if (read == 0) {
            return null;
        }
        return ImportChunk.newBuilder().setRecordsData(ByteString.copyFrom(buffer, 0, read)).build();
    }

    private void count(int read) {
        entryBytes += read;
        archiveBytes += read;
        checkFileSize(entry, entryBytes, limits);
        checkTotal(archiveBytes, limits);
    }

    private static void checkFileSize(ZipEntry file, long bytes, ImageArchiveLimits limits) {
        if (bytes > limits.maxImageBytes()) {
            throw ProblemException.invalid(FIELD, "image file '" + file.getName() + "' is larger than the limit of "
                    + limits.maxImageBytes() + " bytes");
        }
        // The compressed size bounds what ZipFile inflates from, so it is a fair denominator.
        if (bytes > ImageArchiveLimits.RATIO_CHECKED_ABOVE
                && bytes > ImageArchiveLimits.MAX_COMPRESSION_RATIO * Math.max(file.getCompressedSize(), 0)) {
            throw ProblemException.invalid(FIELD, "image file '" + file.getName() + "' expands to more than "
                    + ImageArchiveLimits.MAX_COMPRESSION_RATIO + " times its compressed size: refused as a zip bomb");
        }
    }

    private static void checkTotal(long bytes, ImageArchiveLimits limits) {
        if (bytes > limits.maxTotalBytes()) {
            throw ProblemException.invalid(FIELD, "the files of the images archive add up to more than the limit of "
                    + limits.maxTotalBytes() + " bytes");
        }
    }

    private static ProblemException tooManyEntries(ImageArchiveLimits limits) {
        return ProblemException.invalid(FIELD,
                "the images archive has more than the limit of " + limits.maxEntries() + " entries");
    }

    private static boolean atEnd(PushbackInputStream data) throws IOException {
        int peeked = data.read();
        if (peeked < 0) {
            return true;
        }
        data.unread(peeked);
        return false;
    }

    private static void closeQuietly(AutoCloseable closeable) {
        if (closeable == null) {
            return;
        }
        try {
            closeable.close();
        } catch (Exception e) {
            // Only read-only files are closed here: failing to close one loses nothing.
        }
    }
}
