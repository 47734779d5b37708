package dev.loupe.support.kms;

import java.util.List;

/**
 * Named Ed25519 signing keys held by the KMS. Each name has numbered versions; signing uses the newest, and
 * every version's public key stays available so that old signatures keep verifying after a rotation.
 */
public interface SigningKeys {

    /** Signs {@code message} with the newest version of the named key, creating the key if it does not exist. */
    KeySignature sign(String keyName, byte[] message);

    /** The public keys of every version of the named key, oldest first; empty if it does not exist. */
    List<VerificationKey> verificationKeys(String keyName);

    /**
     * Adds a new version of the named key; later signatures use it.
     *
     * @return the new version's key id
     */
    String rotate(String keyName);
}
