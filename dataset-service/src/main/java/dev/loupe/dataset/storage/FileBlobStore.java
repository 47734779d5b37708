package dev.loupe.dataset.storage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Blobs as files under a root folder (owner-only). A blob is written to a temporary file in its folder, forced to
 * disk and renamed into place, and once a batch is written each of its folders is forced too, so a crash leaves
 * either the whole blob or none; temporary
 * files a crash left behind end in {@code .tmp} and are removed by the sweeper like any unnamed blob.
 */
public final class FileBlobStore implements BlobStore {
    private static final Pattern KEY = Pattern.compile("[a-z0-9][a-z0-9.-]*(/[a-z0-9][a-z0-9.-]*)*");

    private final Path root;

    public FileBlobStore(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    @Override
    public void putAll(Map<String, byte[]> blobs) throws IOException {
        Set<Path> folders = new LinkedHashSet<>();
        for (Map.Entry<String, byte[]> blob : blobs.entrySet()) {
            Path file = file(blob.getKey());
            Path folder = file.getParent();
            createOwnerOnly(folder);
            Path temporary = Files.createTempFile(folder, file.getFileName().toString(), ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(blob.getValue());
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
                channel.force(true);
            }
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            folders.add(folder);
        }
        for (Path folder : folders) {
            forceFolder(folder);
        }
    }

    @Override
    public Optional<byte[]> get(String key) throws IOException {
        try {
            return Optional.of(Files.readAllBytes(file(key)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    @Override
    public void delete(String key) throws IOException {
        Files.deleteIfExists(file(key));
    }

    @Override
    public void deleteAll(String prefix) throws IOException {
        Path folder = file(prefix);
        if (!Files.isDirectory(folder)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(folder)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                try {
                    Files.deleteIfExists(path);
                } catch (DirectoryNotEmptyException raced) {
                    // A blob written meanwhile: the sweeper removes it once no record names it.
                }
            }
        }
    }

    @Override
    public List<StoredBlob> list() throws IOException {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        List<StoredBlob> blobs = new ArrayList<>();
        try (Stream<Path> paths = Files.walk(root)) {
            paths.filter(Files::isRegularFile).forEach(path -> {
                try {
                    blobs.add(new StoredBlob(root.relativize(path).toString().replace('\\', '/'),
                            Files.getLastModifiedTime(path).toInstant()));
                } catch (NoSuchFileException gone) {
                    // Deleted while listing: nothing to sweep.
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
        return blobs;
    }

    private Path file(String key) {
        if (!KEY.matcher(key).matches()) {
            throw new IllegalArgumentException("Invalid blob key: " + key);
        }
        return root.resolve(key);
    }

    private void createOwnerOnly(Path folder) throws IOException {
        if (Files.isDirectory(folder)) {
            return;
        }
        if (!Files.isDirectory(root)) {
            Files.createDirectories(root, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
        }
        Files.createDirectories(folder);
    }

    /** Makes the rename durable: on Linux a folder's entries reach the disk when the folder is forced. */
    private static void forceFolder(Path folder) throws IOException {
        try (FileChannel channel = FileChannel.open(folder, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }
}
