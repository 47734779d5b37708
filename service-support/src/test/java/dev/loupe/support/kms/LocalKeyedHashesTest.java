package dev.loupe.support.kms;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LocalKeyedHashesTest extends KeyedHashesContract {
    private static final byte[] VALUE = "alice".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    @Override
    KeyedHashes keyedHashes() {
        return new LocalKeyedHashes(dir.resolve("kms"));
    }

    @Test
    void keysPersistWithOwnerOnlyPermissions() throws Exception {
        Path keyDir = dir.resolve("kms");
        String before = new LocalKeyedHashes(keyDir).hash("audit-usernames-acme", VALUE).text();

        // A new instance reads the same file, as after a restart.
        assertEquals(before, new LocalKeyedHashes(keyDir).hash("audit-usernames-acme", VALUE).text());
        assertEquals("rw-------", PosixFilePermissions
                .toString(Files.getPosixFilePermissions(keyDir.resolve("audit-usernames-acme.hmac"))));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keyDir)));
    }

    @Test
    void malformedKeyFilesAndBadNamesAreRefused() throws Exception {
        Files.createDirectories(dir.resolve("kms"));
        Files.writeString(dir.resolve("kms/short.hmac"), "v1 AAAA\n");
        IllegalStateException error = assertThrows(IllegalStateException.class,
                () -> keyedHashes().hash("short", VALUE));
        assertTrue(error.getMessage().contains("short.hmac"), error.getMessage());
        assertThrows(IllegalArgumentException.class, () -> keyedHashes().hash("../escape", VALUE));
    }
}
