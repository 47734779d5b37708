package dev.loupe.dataset.storage;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
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
 */
public final class UploadSpool implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path folder;
    private final SecretKeySpec key;
    private final long maxImageBytes;
    private final int maxImageFiles;
    private final Map<String, Path> images = new HashMap<>();
    private final Map<Path, byte[]> ivs = new HashMap<>();
    private OutputStream records;
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
    public void appendRecords(byte[] data) throws IOException {
        if (openImage != null) {
            throw new UploadRefusedException("image_data", "the image file " + openImage
                    + " was not finished (its last piece must say last) before the records began");
        }
        if (records == null) {
            records = encrypting(folder.resolve("records"));
        }
        records.write(data);
    }

    /** Appends a piece of an image file; pieces of one file come one after the other, the last marked. */
    public void appendImage(String name, byte[] data, boolean last) throws IOException {
        if (records != null) {
            throw new UploadRefusedException("image_data", "image files must come before the records file");
        }
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
            openImage = null;
            openImageStream = null;
        }
    }

    /** Ends the upload: everything is on disk and can be read back. */
    public void finish() throws IOException {
        if (openImage != null) {
            throw new UploadRefusedException("image_data", "the image file " + openImage + " was not finished");
        }
        if (records == null) {
            throw new UploadRefusedException("records_data", "the upload holds no records file");
        }
        records.close();
    }

    /** The records file, decrypted as it is read. */
    public InputStream openRecords() throws IOException {
        return decrypting(folder.resolve("records"));
    }

    /** An image file by the name records use, or empty when the upload has no such file. */
    public Optional<byte[]> image(String name) throws IOException {
        Path file = images.get(name);
        if (file == null) {
            return Optional.empty();
        }
        try (InputStream in = decrypting(file)) {
            return Optional.of(in.readAllBytes());
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
    public void close() throws IOException {
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
