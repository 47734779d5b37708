package dev.loupe.audit;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;

/**
 * A signed statement that entry {@code seq} of {@code chain} had hash {@code headHash} at {@code signedAt}. Since
 * each hash covers the one before it, a checkpoint vouches for the whole chain up to {@code seq}: rewriting any
 * of it, however consistently, needs a new signature, and the signing key is in the KMS, not the database.
 *
 * @param keyId the KMS key version that signed, e.g. {@code local:audit-checkpoints:v1}
 * @param signature Ed25519 over {@link #signedBytes()}
 */
public record Checkpoint(String chain, long seq, String headHash, Instant signedAt, String keyId, byte[] signature) {
    /** Domain tag and encoding version of the signed bytes. */
    public static final String DOMAIN = "loupe.audit.checkpoint.v1";

    /** The X.509 header that turns a raw 32-byte Ed25519 public key into one Java can load. */
    private static final byte[] ED25519_X509_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

    /** The bytes the signature covers (docs/audit-chain.md). */
    public byte[] signedBytes() {
        return signedBytes(chain, seq, headHash, signedAt);
    }

    /**
     * The key id is not signed: the KMS chooses the key version while signing, and a signature verifies only
     * with the key it names anyway.
     */
    public static byte[] signedBytes(String chain, long seq, String headHash, Instant signedAt) {
        return new CanonicalEncoder(DOMAIN)
                .text(chain)
                .number(seq)
                .text(headHash)
                .number(ChainHash.micros(signedAt))
                .bytes();
    }

    /**
     * Whether the signature is valid for the public key of its {@code keyId}.
     *
     * @param publicKeys raw 32-byte Ed25519 public keys by key id; a key id not in it never verifies
     */
    public boolean signatureValid(Map<String, byte[]> publicKeys) {
        byte[] raw = publicKeys.get(keyId);
        if (raw == null || raw.length != 32 || signature == null) {
            return false;
        }
        try {
            byte[] x509 = new byte[ED25519_X509_PREFIX.length + raw.length];
            System.arraycopy(ED25519_X509_PREFIX, 0, x509, 0, ED25519_X509_PREFIX.length);
            System.arraycopy(raw, 0, x509, ED25519_X509_PREFIX.length, raw.length);
            PublicKey key = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(x509));
            Signature verifier = Signature.getInstance("Ed25519");
            verifier.initVerify(key);
            verifier.update(signedBytes());
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            // A malformed key or signature is a signature that does not verify.
            return false;
        }
    }
}
