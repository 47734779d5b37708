package dev.loupe.support.kms;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyFactory;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.HexFormat;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LocalSigningKeysTest {
    private static final byte[] MESSAGE = "checkpoint".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    @Test
    void createsKeyOnFirstSignatureWithOwnerOnlyFiles() throws Exception {
        Path keyDir = dir.resolve("kms");
        KeySignature signed = new LocalSigningKeys(keyDir).sign("audit-checkpoints", MESSAGE);

        assertEquals("local:audit-checkpoints:v1", signed.keyId());
        assertEquals(64, signed.signature().length);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keyDir)));
        assertEquals("rw-------", PosixFilePermissions
                .toString(Files.getPosixFilePermissions(keyDir.resolve("audit-checkpoints.ed25519"))));
    }

    @Test
    void signaturesVerifyWithThePublishedKeyAcrossRotationAndRestart() throws Exception {
        LocalSigningKeys keys = new LocalSigningKeys(dir);
        KeySignature first = keys.sign("audit-checkpoints", MESSAGE);
        assertEquals("local:audit-checkpoints:v2", keys.rotate("audit-checkpoints"));
        KeySignature second = keys.sign("audit-checkpoints", MESSAGE);
        assertEquals("local:audit-checkpoints:v2", second.keyId());

        // A new instance reads the same file, as after a restart.
        List<VerificationKey> published = new LocalSigningKeys(dir).verificationKeys("audit-checkpoints");
        assertEquals(List.of("local:audit-checkpoints:v1", "local:audit-checkpoints:v2"),
                published.stream().map(VerificationKey::keyId).toList());
        assertTrue(verifies(published.get(0).publicKey(), MESSAGE, first.signature()));
        assertTrue(verifies(published.get(1).publicKey(), MESSAGE, second.signature()));
        assertFalse(verifies(published.get(1).publicKey(), MESSAGE, first.signature()));
        byte[] altered = "checkpoinT".getBytes(StandardCharsets.UTF_8);
        assertFalse(verifies(published.get(0).publicKey(), altered, first.signature()));
    }

    @Test
    void unknownKeyHasNoVersionsAndBadNamesAreRefused() {
        LocalSigningKeys keys = new LocalSigningKeys(dir);
        assertEquals(List.of(), keys.verificationKeys("never-created"));
        assertThrows(IllegalArgumentException.class, () -> keys.sign("../escape", MESSAGE));
    }

    @Test
    void malformedKeyFileIsReportedNotIgnored() throws Exception {
        Files.writeString(dir.resolve("broken.ed25519"), "v2 AAAA BBBB\n");
        IllegalStateException error = assertThrows(IllegalStateException.class,
                () -> new LocalSigningKeys(dir).sign("broken", MESSAGE));
        assertTrue(error.getMessage().contains("broken.ed25519"), error.getMessage());
    }

    /** Verifies with the JDK alone, from the raw key as a verifier outside Loupe would receive it. */
    static boolean verifies(byte[] rawPublicKey, byte[] message, byte[] signature) throws Exception {
        byte[] x509 = HexFormat.of().parseHex("302a300506032b6570032100" + HexFormat.of().formatHex(rawPublicKey));
        Signature verifier = Signature.getInstance("Ed25519");
        verifier.initVerify(KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(x509)));
        verifier.update(message);
        return verifier.verify(signature);
    }
}
