package dev.loupe.dataset.storage;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

import javax.crypto.Cipher;
import javax.crypto.CipherInputStream;
import javax.crypto.CipherOutputStream;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The files of one upload while its import runs: the records file and the image files, on disk so that memory
 * stays bounded however large the upload, and encrypted (AES-256-CTR) under a key that exists only in this
 * object's memory, so that not even these temporary files reveal an image to whoever reads the disk. Removed
 * on {@link #close()}; a crash leaves unreadable files that the next start removes.
 *
 * <p>
 * The records file comes first, then the image files. Validation starts once the records file is complete and
 * runs while the images still arrive: {@link #image} waits for a file that is not there yet, until it arrives or
 * the upload ends without it. One thread writes (the upload), another reads (the validation); every method is
 * synchronized on this spool.
 */
public final class UploadSpool implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path folder;
    private final SecretKeySpec key;
    private final long maxImageBytes;
    private final int maxImageFiles;
    /** Image files by the name records use, from their first piece on. */
    private final Map<String, Path> images = new HashMap<>();
    /** The image files whose last piece is written. */
    private final Set<String> complete = new HashSet<>();
    private final Map<Path, byte[]> ivs = new HashMap<>();
    private OutputStream records;
    private boolean recordsComplete;
    private boolean finished;
    private IOException failure;
    private String openImage;
    private OutputStream openImageStream;
    private long openImageBytes;

    /**
     * @param parent where spool folders are made (owner-only)
     * @param maxImageBytes the largest image file accepted
     * @param maxImageFiles the most image files one upload may hold
     */
    public UploadSpool(Path parent, long maxImageBytes, int maxImageFiles) throws IOException {
        Files.createDirectories(parent);
        this.folder = Files.createTempDirectory(parent, "import-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        byte[] keyBytes = new byte[32];
        RANDOM.nextBytes(keyBytes);
        this.key = new SecretKeySpec(keyBytes, "AES");
        this.maxImageBytes = maxImageBytes;
        this.maxImageFiles = maxImageFiles;
    }

    /** Appends a piece of the records file. */
    public synchronized void appendRecords(byte[] data) throws IOException {
        if (recordsComplete) {
            throw new UploadRefusedException("records_data", "the records file must come before the image files");
        }
        if (records == null) {
            records = encrypting(folder.resolve("records"));
        }
        records.write(data);
    }

    /**
     * Appends a piece of an image file; pieces of one file come one after the other, the last marked. The first
     * piece of the first image completes the records file.
     *
     * @return true when this piece completed the records file (validation may start)
     */
    public synchronized boolean appendImage(String name, byte[] data, boolean last) throws IOException {
        boolean completedRecords = completeRecords();
        if (openImage != null && !openImage.equals(name)) {
            throw new UploadRefusedException("image_data", "the image file " + openImage
                    + " was not finished (its last piece must say last) before " + name + " began");
        }
        if (openImage == null) {
            if (name.isEmpty()) {
                throw new UploadRefusedException("image_data.file_name", "every image file needs its name");
            }
            if (images.containsKey(name)) {
                throw new UploadRefusedException("image_data.file_name", "the image file " + name
                        + " was sent twice");
            }
            if (images.size() >= maxImageFiles) {
                throw new UploadRefusedException("image_data", "an upload holds at most " + maxImageFiles
                        + " image files");
            }
            Path file = folder.resolve("image-" + images.size());
            images.put(name, file);
            openImage = name;
            openImageStream = encrypting(file);
            openImageBytes = 0;
        }
        openImageBytes += data.length;
        if (openImageBytes > maxImageBytes) {
            throw new UploadRefusedException("image_data", "the image file " + name + " is larger than "
                    + maxImageBytes + " bytes");
        }
        openImageStream.write(data);
        if (last) {
            openImageStream.close();
            openImageStream = null;
            openImage = null;
            complete.add(name);
            notifyAll();
        }
        return completedRecords;
    }

    /** Closes the records file once; true the first time. */
    private boolean completeRecords() throws IOException {
        if (recordsComplete) {
            return false;
        }
        if (records == null) {
            throw new UploadRefusedException("records_data",
                    "the upload holds no records file (it comes before the image files)");
        }
        records.close();
        recordsComplete = true;
        notifyAll();
        return true;
    }

    /**
     * Ends the upload: everything is on disk and can be read back; waiting readers learn that missing files
     * will not come.
     *
     * @return true when this call completed the records file (an upload without images)
     */
    public synchronized boolean finish() throws IOException {
        if (openImage != null) {
            throw new UploadRefusedException("image_data", "the image file " + openImage + " was not finished");
        }
        boolean completedRecords = completeRecords();
        finished = true;
        notifyAll();
        return completedRecords;
    }

    /** The upload broke off: readers waiting for more get this failure instead. */
    public synchronized void fail(IOException cause) {
        if (!finished && failure == null) {
            failure = cause;
            notifyAll();
        }
    }

    /** Waits until the upload has ended; throws if it broke off instead. */
    public synchronized void awaitFinished() throws IOException {
        while (!finished) {
            awaitChange();
        }
    }

    /** The records file, decrypted as it is read; waits until the records file is complete. */
    public synchronized InputStream openRecords() throws IOException {
        while (!recordsComplete) {
            awaitChange();
        }
        return decrypting(folder.resolve("records"));
    }

    /**
     * An image file by the name records use, or empty when the upload ended without it. Waits while the upload
     * goes on and the file is not complete yet.
     */
    public Optional<byte[]> image(String name) throws IOException {
        Path file;
        InputStream in;
        synchronized (this) {
            while (!complete.contains(name) && !finished) {
                awaitChange();
            }
            file = images.get(name);
            if (file == null || !complete.contains(name)) {
                return Optional.empty();
            }
            in = decrypting(file);
        }
        // Read outside the lock: the upload goes on writing other files meanwhile.
        try (in) {
            return Optional.of(in.readAllBytes());
        }
    }

    /** Waits for the writer's next change; the upload's failure, if it broke off. */
    private void awaitChange() throws IOException {
        if (failure != null) {
            throw new IOException("the upload broke off: " + failure.getMessage(), failure);
        }
        try {
            wait();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for the upload");
        }
        if (failure != null) {
            throw new IOException("the upload broke off: " + failure.getMessage(), failure);
        }
    }

    private OutputStream encrypting(Path file) throws IOException {
        byte[] iv = new byte[16];
        RANDOM.nextBytes(iv);
        ivs.put(file, iv);
        return new CipherOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 65536),
                cipher(Cipher.ENCRYPT_MODE, iv));
    }

    private InputStream decrypting(Path file) throws IOException {
        return new CipherInputStream(new BufferedInputStream(Files.newInputStream(file), 65536),
                cipher(Cipher.DECRYPT_MODE, ivs.get(file)));
    }

    private Cipher cipher(int mode, byte[] iv) {
        try {
            // CTR: a stream cipher, so a 2 GB records file is read back piece by piece. These files live only
            // as long as the import, under a key that dies with it; integrity is the import's checks' job.
            Cipher cipher = Cipher.getInstance("AES/CTR/NoPadding");
            cipher.init(mode, key, new IvParameterSpec(iv));
            return cipher;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-CTR is not available in this JVM", e);
        }
    }

    /** Removes every leftover spool folder under {@code parent}: after a crash, their keys are gone anyway. */
    public static void removeLeftovers(Path parent) throws IOException {
        if (!Files.isDirectory(parent)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(parent)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                if (!path.equals(parent)) {
                    Files.deleteIfExists(path);
                }
            }
        }
    }

    @Override
    public synchronized void close() throws IOException {
        fail(new IOException("the import ended"));
        try {
            if (records != null) {
                records.close();
            }
            if (openImageStream != null) {
                openImageStream.close();
            }
        } finally {
            try (Stream<Path> paths = Files.walk(folder)) {
                for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(path);
                }
            }
        }
    }
}
