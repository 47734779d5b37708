package dev.loupe.support.kms;

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What every {@link KeyedHashes} provider must do; each provider's test supplies a fresh instance. */
abstract class KeyedHashesContract {
    private static final byte[] ALICE = "alice@acme.example".getBytes(StandardCharsets.UTF_8);
    private static final byte[] BOB = "bob@acme.example".getBytes(StandardCharsets.UTF_8);

    abstract KeyedHashes keyedHashes() throws Exception;

    @Test
    void sameValueSameKeyGivesTheSameHashAndOthersDiffer() throws Exception {
        KeyedHashes hashes = keyedHashes();
        KeyedHash first = hashes.hash("audit-usernames-acme", ALICE);

        assertEquals(1, first.version());
        assertEquals(32, first.mac().length);
        assertTrue(first.text().matches("v1:[0-9a-f]{64}"), first.text());
        assertArrayEquals(first.mac(), hashes.hash("audit-usernames-acme", ALICE).mac());
        assertFalse(first.text().equals(hashes.hash("audit-usernames-acme", BOB).text()));
        // Another key (another tenant's) links nothing: the same value hashes differently.
        assertFalse(first.text().equals(hashes.hash("audit-usernames-globex", ALICE).text()));
    }

    @Test
    void afterRotationNewHashesUseTheNewVersionAndOldOnesAreStillFound() throws Exception {
        KeyedHashes hashes = keyedHashes();
        KeyedHash before = hashes.hash("audit-usernames-acme", ALICE);
        assertEquals(2, hashes.rotate("audit-usernames-acme"));
        KeyedHash after = hashes.hash("audit-usernames-acme", ALICE);

        assertEquals(2, after.version());
        assertFalse(before.text().equals(after.text()));
        List<String> everyVersion = hashes.hashesUnderEveryVersion("audit-usernames-acme", ALICE).stream()
                .map(KeyedHash::text).toList();
        assertEquals(List.of(after.text(), before.text()), everyVersion);
    }

    @Test
    void aKeyNeverCreatedHasNoHashes() throws Exception {
        assertEquals(List.of(), keyedHashes().hashesUnderEveryVersion("never-created", ALICE));
    }
}
