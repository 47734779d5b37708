package dev.loupe.support.kms;

import java.util.Arrays;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** What every {@link DataKeys} provider must do; each provider's test supplies a fresh instance. */
abstract class DataKeysContract {
    private static final String KEK = "dataset-acme-0190";
    private static final String OTHER_KEK = "dataset-acme-other";

    abstract DataKeys dataKeys() throws Exception;

    @Test
    void aDataKeyUnwrapsToItselfAndEachIsFresh() throws Exception {
        DataKeys keys = dataKeys();
        DataKey first = keys.generate(KEK);
        DataKey second = keys.generate(KEK);

        assertEquals(32, first.plaintext().length);
        assertFalse(Arrays.equals(new byte[32], first.plaintext()));
        assertEquals(1, DataKeys.versionOf(first.wrapped()));
        assertArrayEquals(first.plaintext(), keys.unwrap(KEK, first.wrapped()));
        assertArrayEquals(second.plaintext(), keys.unwrap(KEK, second.wrapped()));
        assertFalse(Arrays.equals(first.plaintext(), second.plaintext()));
        assertFalse(first.wrapped().equals(second.wrapped()));
    }

    @Test
    void anAlteredWrappingOrAnotherKeksWrappingIsRefused() throws Exception {
        DataKeys keys = dataKeys();
        DataKey key = keys.generate(KEK);
        keys.generate(OTHER_KEK);
        String wrapped = key.wrapped();
        int body = wrapped.lastIndexOf(':') + 1;

        // One character changed in the nonce, in the encrypted key, in the tag.
        for (int at : new int[]{body, body + 20, wrapped.length() - 6}) {
            String altered = wrapped.substring(0, at) + (wrapped.charAt(at) == 'A' ? 'B' : 'A')
                    + wrapped.substring(at + 1);
            assertThrows(DataKeyUnavailableException.class, () -> keys.unwrap(KEK, altered), altered);
        }
        assertThrows(DataKeyUnavailableException.class, () -> keys.unwrap(OTHER_KEK, wrapped));
        assertThrows(DataKeyUnavailableException.class, () -> keys.unwrap("never-created", wrapped));
        assertArrayEquals(key.plaintext(), keys.unwrap(KEK, wrapped), "the refusals changed nothing");
    }

    @Test
    void whatIsNoWrappingOrNamesAnUnknownVersionIsRefused() throws Exception {
        DataKeys keys = dataKeys();
        String wrapped = keys.generate(KEK).wrapped();

        assertThrows(DataKeyUnavailableException.class, () -> keys.unwrap(KEK, "not-a-wrapping"));
        assertThrows(DataKeyUnavailableException.class, () -> keys.unwrap(KEK, wrapped.replace(":v1:", ":v9:")));
        assertThrows(DataKeyUnavailableException.class, () -> keys.unwrap(KEK, wrapped.replace(":v1:", ":vx:")));
        assertThrows(DataKeyUnavailableException.class,
                () -> keys.unwrap(KEK, wrapped.substring(0, wrapped.lastIndexOf(':') + 1) + "%%%"));
    }

    @Test
    void rotationRewrapAndMinimumDecryptionVersionRetireOldWrappings() throws Exception {
        DataKeys keys = dataKeys();
        DataKey old = keys.generate(KEK);
        assertEquals(2, keys.rotate(KEK));
        assertEquals(2, DataKeys.versionOf(keys.generate(KEK).wrapped()));
        assertArrayEquals(old.plaintext(), keys.unwrap(KEK, old.wrapped()), "v1 still unwraps after a rotation");

        String rewrapped = keys.rewrap(KEK, old.wrapped());
        assertEquals(2, DataKeys.versionOf(rewrapped));
        assertArrayEquals(old.plaintext(), keys.unwrap(KEK, rewrapped));
        keys.setMinDecryptionVersion(KEK, 2);

        assertThrows(DataKeyUnavailableException.class, () -> keys.unwrap(KEK, old.wrapped()));
        assertThrows(DataKeyUnavailableException.class, () -> keys.rewrap(KEK, old.wrapped()));
        assertArrayEquals(old.plaintext(), keys.unwrap(KEK, rewrapped));
        assertEquals(2, DataKeys.versionOf(keys.generate(KEK).wrapped()));
    }

    @Test
    void theMinimumDecryptionVersionIsAPolicyNotAnErasure() throws Exception {
        DataKeys keys = dataKeys();
        DataKey old = keys.generate(KEK);
        keys.rotate(KEK);
        keys.setMinDecryptionVersion(KEK, 2);
        assertThrows(DataKeyUnavailableException.class, () -> keys.unwrap(KEK, old.wrapped()));

        // Lowering it again brings the old wrappings back: only destroy shreds.
        keys.setMinDecryptionVersion(KEK, 1);
        assertArrayEquals(old.plaintext(), keys.unwrap(KEK, old.wrapped()));
    }

    @Test
    void rotatingAKeyThatDoesNotExistMakesItsFirstVersion() throws Exception {
        DataKeys keys = dataKeys();
        assertEquals(1, keys.rotate(KEK));
        assertEquals(1, DataKeys.versionOf(keys.generate(KEK).wrapped()));
    }

    @Test
    void trimmedVersionsNeverComeBack() throws Exception {
        DataKeys keys = dataKeys();
        DataKey old = keys.generate(KEK);
        keys.rotate(KEK);
        DataKey kept = keys.generate(KEK);
        assertThrows(IllegalArgumentException.class, () -> keys.trim(KEK, 2), "not below the minimum yet");
        keys.setMinDecryptionVersion(KEK, 2);
        keys.trim(KEK, 2);

        assertThrows(IllegalArgumentException.class, () -> keys.setMinDecryptionVersion(KEK, 1));
        assertThrows(DataKeyUnavailableException.class, () -> keys.unwrap(KEK, old.wrapped()));
        assertArrayEquals(kept.plaintext(), keys.unwrap(KEK, kept.wrapped()));
        keys.rotate(KEK);
        assertEquals(3, DataKeys.versionOf(keys.generate(KEK).wrapped()));
    }

    @Test
    void aMinimumDecryptionVersionOutsideTheKeksVersionsIsRefused() throws Exception {
        DataKeys keys = dataKeys();
        DataKey old = keys.generate(KEK);
        keys.rotate(KEK);

        assertThrows(IllegalArgumentException.class, () -> keys.setMinDecryptionVersion(KEK, 0));
        assertThrows(IllegalArgumentException.class, () -> keys.setMinDecryptionVersion(KEK, 3));
        assertThrows(IllegalArgumentException.class, () -> keys.setMinDecryptionVersion("never-created", 1));
        assertArrayEquals(old.plaintext(), keys.unwrap(KEK, old.wrapped()), "the refusals changed nothing");
    }

    @Test
    void destroyingAKekMakesEverythingItWrappedUnreadable() throws Exception {
        DataKeys keys = dataKeys();
        DataKey first = keys.generate(KEK);
        keys.rotate(KEK);
        DataKey second = keys.generate(KEK);
        DataKey otherKeks = keys.generate(OTHER_KEK);
        keys.destroy(KEK);

        assertThrows(DataKeyUnavailableException.class, () -> keys.unwrap(KEK, first.wrapped()));
        assertThrows(DataKeyUnavailableException.class, () -> keys.unwrap(KEK, second.wrapped()));
        assertThrows(DataKeyUnavailableException.class, () -> keys.rewrap(KEK, second.wrapped()));
        // A KEK of the same name made later is a new key: the old wrappings stay unreadable.
        DataKey after = keys.generate(KEK);
        assertEquals(1, DataKeys.versionOf(after.wrapped()));
        assertArrayEquals(after.plaintext(), keys.unwrap(KEK, after.wrapped()));
        assertThrows(DataKeyUnavailableException.class, () -> keys.unwrap(KEK, first.wrapped()));
        assertThrows(DataKeyUnavailableException.class, () -> keys.unwrap(KEK, second.wrapped()));
        assertArrayEquals(otherKeks.plaintext(), keys.unwrap(OTHER_KEK, otherKeks.wrapped()), "other KEKs stay");
        // Destroying a key that does not exist is no error.
        keys.destroy("never-created");
    }
}
