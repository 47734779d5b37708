package dev.loupe.support.kms;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
        Path file = keyDir.resolve("dataset-acme-1.kek");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keyDir)));
        List<String> lines = Files.readAllLines(file, StandardCharsets.US_ASCII);
        assertEquals(2, lines.size(), lines.toString());
        assertTrue(lines.get(0).matches("v1 [A-Za-z0-9+/]{43}= retired"), lines.get(0));
        assertTrue(lines.get(1).matches("v2 [A-Za-z0-9+/]{43}= active"), lines.get(1));
    }

    @Test
    void aWrappingIsAesGcmOfNonceKeyAndTag() throws Exception {
        // 12-byte nonce + 32-byte key + 16-byte tag = 60 bytes = 80 base64 characters without padding.
        String wrapped = dataKeys().generate("dataset-acme-1").wrapped();
        assertTrue(wrapped.matches("local:v1:[A-Za-z0-9+/]{80}"), wrapped);
    }

    @Test
    void aWrappingIsBoundToItsKeksNameNotOnlyToItsKeyBytes() throws Exception {
        Path keyDir = dir.resolve("kms");
        DataKey key = new LocalDataKeys(keyDir).generate("dataset-acme-1");
        // The same key bytes under another name, as after a copied file: the name is authenticated data.
        Files.copy(keyDir.resolve("dataset-acme-1.kek"), keyDir.resolve("dataset-acme-copy.kek"));
        LocalDataKeys keys = new LocalDataKeys(keyDir);

        assertArrayEquals(key.plaintext(), keys.unwrap("dataset-acme-1", key.wrapped()));
        DataKeyUnavailableException error = assertThrows(DataKeyUnavailableException.class,
                () -> keys.unwrap("dataset-acme-copy", key.wrapped()));
        assertTrue(error.getMessage().contains("version 1 of key dataset-acme-copy"), error.getMessage());
    }

    @Test
    void destroyingAKekDeletesItsFileForEveryInstance() throws Exception {
        Path keyDir = dir.resolve("kms");
        LocalDataKeys keys = new LocalDataKeys(keyDir);
        DataKey key = keys.generate("dataset-acme-1");
        keys.destroy("dataset-acme-1");

        assertFalse(Files.exists(keyDir.resolve("dataset-acme-1.kek")));
        DataKeyUnavailableException error = assertThrows(DataKeyUnavailableException.class,
                () -> new LocalDataKeys(keyDir).unwrap("dataset-acme-1", key.wrapped()));
        assertTrue(error.getMessage().contains("version 1 of key dataset-acme-1"), error.getMessage());
        assertFalse(error.getMessage().contains(key.wrapped()), "the wrapping is not echoed");
    }

    @Test
    void aMalformedKeyFileIsReportedNotIgnored() throws Exception {
        Path keyDir = Files.createDirectories(dir.resolve("kms"));
        String key = "v1 " + "A".repeat(43) + "= ";
        Files.writeString(keyDir.resolve("short.kek"), "v1 AAAA active\n");
        Files.writeString(keyDir.resolve("unknown-state.kek"), key + "gone\n");
        Files.writeString(keyDir.resolve("retired-after-active.kek"), key + "active\n" + key.replace("v1", "v2")
                + "retired\n");
        Files.writeString(keyDir.resolve("newest-retired.kek"), key + "retired\n");

        for (String name : List.of("short", "unknown-state", "retired-after-active", "newest-retired")) {
            IllegalStateException error = assertThrows(IllegalStateException.class,
                    () -> dataKeys().generate(name));
            assertTrue(error.getMessage().contains(name + ".kek"), error.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> dataKeys().generate("../escape"));
    }
}
