package dev.loupe.support.kms;

/**
 * Envelope encryption with named key-encryption keys (KEKs) held by the KMS: each piece of data is encrypted with
 * its own fresh data key, and only the data key's wrapping under a KEK is stored next to it. Each KEK name has
 * numbered versions: new data keys are wrapped under the newest; older wrappings still unwrap until the minimum
 * decryption version is raised past them; {@link #rewrap} moves a wrapping to the newest version without the
 * plaintext key leaving the KMS. Destroying a KEK makes everything it wrapped unreadable for good
 * (crypto-shredding).
 */
public interface DataKeys {

    /** A fresh 256-bit data key wrapped under the newest version of the named KEK, creating the KEK if needed. */
    DataKey generate(String keyName);

    /**
     * The plaintext data key of a wrapping made by {@link #generate} or {@link #rewrap}.
     *
     * @throws DataKeyUnavailableException when the KEK was destroyed, or the wrapping's version is below the
     *         minimum decryption version, or the wrapping was altered or belongs to another KEK
     */
    byte[] unwrap(String keyName, String wrapped);

    /** The same data key wrapped under the newest version of the KEK. */
    String rewrap(String keyName, String wrapped);

    /**
     * Adds a new version of the named KEK; later data keys are wrapped under it.
     *
     * @return the new version's number
     */
    int rotate(String keyName);

    /**
     * Refuses to unwrap wrappings under versions below {@code version} from now on (after a rewrap of all). A
     * policy: lowering it again makes the older versions usable again, unless they were {@link #trim trimmed}.
     *
     * @throws IllegalArgumentException outside the KEK's versions, or below a trimmed version
     */
    void setMinDecryptionVersion(String keyName, int version);

    /**
     * Deletes for good every version below {@code version}, which must not be above the minimum decryption version:
     * wrappings under them can never be unwrapped again, whoever changes the minimum later. Erasure relies on it.
     *
     * @throws IllegalArgumentException when {@code version} is above the minimum decryption version
     */
    void trim(String keyName, int version);

    /** Destroys every version of the named KEK; does nothing if it does not exist. */
    void destroy(String keyName);

    /** The version of the KEK a wrapping was made under, read from the wrapping itself. */
    static int versionOf(String wrapped) {
        String[] parts = wrapped.split(":", 3);
        if (parts.length != 3 || !parts[1].startsWith("v")) {
            throw new DataKeyUnavailableException("not a wrapped data key");
        }
        try {
            return Integer.parseInt(parts[1].substring(1));
        } catch (NumberFormatException e) {
            throw new DataKeyUnavailableException("not a wrapped data key");
        }
    }
}
