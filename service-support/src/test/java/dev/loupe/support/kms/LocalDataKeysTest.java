package dev.loupe.support.kms;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LocalDataKeysTest extends DataKeysContract {
    @TempDir
    Path dir;

    @Override
    DataKeys dataKeys() {
        return new LocalDataKeys(dir.resolve("kms"));
    }

    @Test
    void keksPersistOwnerOnlyWithTheirMinimumVersion() throws Exception {
        Path keyDir = dir.resolve("kms");
        LocalDataKeys keys = new LocalDataKeys(keyDir);
        DataKey old = keys.generate("dataset-acme-1");
        keys.rotate("dataset-acme-1");
        String rewrapped = keys.rewrap("dataset-acme-1", old.wrapped());
        keys.setMinDecryptionVersion("dataset-acme-1", 2);

        // A new instance reads the same file, as after a restart.
        LocalDataKeys restarted = new LocalDataKeys(keyDir);
        assertArrayEquals(old.plaintext(), restarted.unwrap("dataset-acme-1", rewrapped));
        assertThrows(DataKeyUnavailableException.class, () -> restarted.unwrap("dataset-acme-1", old.wrapped()));
        assertEquals("rw-------", PosixFilePermissions
                .toString(Files.getPosixFilePermissions(keyDir.resolve("dataset-acme-1.kek"))));
    }

    @Test
    void aMalformedKeyFileIsReportedNotIgnored() throws Exception {
        Files.createDirectories(dir.resolve("kms"));
        Files.writeString(dir.resolve("kms/broken.kek"), "v1 AAAA active\n");
        IllegalStateException error = assertThrows(IllegalStateException.class,
                () -> dataKeys().generate("broken"));
        assertTrue(error.getMessage().contains("broken.kek"), error.getMessage());
    }
}
