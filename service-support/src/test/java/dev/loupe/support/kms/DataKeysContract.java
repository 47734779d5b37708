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

    abstract DataKeys dataKeys() throws Exception;

    @Test
    void aDataKeyUnwrapsToItselfAndEachIsFresh() throws Exception {
        DataKeys keys = dataKeys();
        DataKey first = keys.generate(KEK);
        DataKey second = keys.generate(KEK);

        assertEquals(32, first.plaintext().length);
        assertEquals(1, DataKeys.versionOf(first.wrapped()));
        assertArrayEquals(first.plaintext(), keys.unwrap(KEK, first.wrapped()));
        assertFalse(Arrays.equals(first.plaintext(), second.plaintext()));
    }

    @Test
    void anAlteredWrappingOrAnotherKeksWrappingIsRefused() throws Exception {
        DataKeys keys = dataKeys();
        DataKey key = keys.generate(KEK);
        keys.generate("dataset-acme-other");
        String wrapped = key.wrapped();
        int at = wrapped.length() - 6;
        String altered = wrapped.substring(0, at) + (wrapped.charAt(at) == 'A' ? 'B' : 'A') + wrapped.substring(at + 1);

        assertThrows(DataKeyUnavailableException.class, () -> keys.unwrap(KEK, altered));
        assertThrows(DataKeyUnavailableException.class, () -> keys.unwrap("dataset-acme-other", wrapped));
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
        keys.setMinDecryptionVersion(KEK, 2);

        assertThrows(DataKeyUnavailableException.class, () -> keys.unwrap(KEK, old.wrapped()));
        assertArrayEquals(old.plaintext(), keys.unwrap(KEK, rewrapped));
    }

    @Test
    void destroyingAKekMakesEverythingItWrappedUnreadable() throws Exception {
        DataKeys keys = dataKeys();
        DataKey before = keys.generate(KEK);
        keys.destroy(KEK);

        assertThrows(DataKeyUnavailableException.class, () -> keys.unwrap(KEK, before.wrapped()));
        // A KEK of the same name made later is a new key: the old wrapping stays unreadable.
        DataKey after = keys.generate(KEK);
        assertArrayEquals(after.plaintext(), keys.unwrap(KEK, after.wrapped()));
        assertThrows(DataKeyUnavailableException.class, () -> keys.unwrap(KEK, before.wrapped()));
        // Destroying a key that does not exist is no error.
        keys.destroy("never-created");
    }
}
