package dev.loupe.support.kms;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The key files of the {@code local} provider: one file per key name and kind in the key folder, one line per
 * version ({@code v<n> <fields...>}, versions counted from 1), readable by the owner only and replaced whole
 * through a rename, so a crash never leaves half a file. The folder is synced after each rename and deletion, so
 * that a version handed out is not lost to a power cut (what it wrapped or signed may already be stored
 * elsewhere).
 */
final class LocalKeyFiles {
    private static final Pattern KEY_NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,126}");

    private final Path keyDir;

    LocalKeyFiles(Path keyDir) {
        this.keyDir = keyDir;
    }

    /** The file of a key; refuses names that could leave the folder or that a KMS would not accept. */
    Path file(String keyName, String extension) {
        if (!KEY_NAME.matcher(keyName).matches()) {
            throw new IllegalArgumentException("Invalid key name: " + keyName);
        }
        return keyDir.resolve(keyName + "." + extension);
    }

    /**
     * The fields of each version, oldest first, without the leading {@code v<n>}; empty when the file does not
     * exist. A line with another field count or out of order is reported, never skipped.
     */
    static List<String[]> readVersions(Path file, int fieldsPerVersion) {
        List<String[]> versions = new ArrayList<>();
        if (!Files.exists(file)) {
            return versions;
        }
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
                if (line.isBlank()) {
                    continue;
                }
                String[] parts = line.split(" ");
                if (parts.length != fieldsPerVersion + 1 || !parts[0].equals("v" + (versions.size() + 1))) {
                    throw new IllegalStateException(
                            "Malformed key file " + file + " at version " + (versions.size() + 1));
                }
                String[] fields = new String[fieldsPerVersion];
                System.arraycopy(parts, 1, fields, 0, fieldsPerVersion);
                versions.add(fields);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read key file " + file, e);
        }
        return versions;
    }

    /** Replaces the file with these versions, creating the key folder (owner-only) if needed. */
    void writeVersions(Path file, List<String[]> versions) {
        StringBuilder content = new StringBuilder();
        for (int i = 0; i < versions.size(); i++) {
            content.append('v').append(i + 1);
            for (String field : versions.get(i)) {
                content.append(' ').append(field);
            }
            content.append('\n');
        }
        try {
            if (!Files.isDirectory(keyDir)) {
                try {
                    Files.createDirectories(keyDir.getParent() == null ? keyDir : keyDir.getParent());
                    Files.createDirectory(keyDir, PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rwx------")));
                } catch (FileAlreadyExistsException raced) {
                    // Another process created it first: fine.
                }
            }
            Path temporary = Files.createTempFile(keyDir, file.getFileName().toString(), ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(temporary, content, StandardCharsets.US_ASCII, StandardOpenOption.SYNC);
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write key file " + file, e);
        }
        syncFolder();
    }

    /** Deletes the file if it exists. Overwriting it first would be pointless on copy-on-write and flash storage. */
    void delete(Path file) {
        try {
            if (!Files.deleteIfExists(file)) {
                return;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot delete key file " + file, e);
        }
        syncFolder();
    }

    private void syncFolder() {
        try (FileChannel folder = FileChannel.open(keyDir, StandardOpenOption.READ)) {
            folder.force(true);
        } catch (IOException e) {
            // Some platforms cannot open a folder (Windows): the rename or deletion stands, and its durability
            // across a power cut is then the file system's alone.
        }
    }
}
