package dev.loupe.training.modelstore;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * The content hash of a folder the trainer worker wrote (a checkpoint, an adapter): SHA-256 over every file below
 * it, in order of their paths relative to the folder ({@code /}-separated), of {@code <path> NUL <sha256> LF}; the
 * same form as a base model's content hash, with sub-folders included.
 */
public final class FolderHash {
    private FolderHash() {
    }

    public static String of(Path folder) throws IOException {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(folder)) {
            files = walk.filter(Files::isRegularFile).toList();
        }
        List<String> names = files.stream()
                .map(file -> folder.relativize(file).toString().replace(folder.getFileSystem().getSeparator(), "/"))
                .sorted()
                .toList();
        MessageDigest digest = sha256();
        for (String name : names) {
            digest.update((name + '\u0000' + fileHash(folder.resolve(name)) + '\n').getBytes(StandardCharsets.UTF_8));
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static String fileHash(Path file) {
        MessageDigest digest = sha256();
        byte[] buffer = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            for (int read = in.read(buffer); read >= 0; read = in.read(buffer)) {
                digest.update(buffer, 0, read);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
