package dev.loupe.support.kms;

import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Signing keys in files on this machine: the embedded default. Each key name has one file {@code <name>.ed25519}
 * in the key folder, one line per version ({@code v<n> <base64 PKCS#8 private key> <base64 X.509 public key>}),
 * readable by the owner only. Whoever can read the folder can sign, so production uses Vault, where the private keys never leave it.
 */
public final class LocalSigningKeys implements SigningKeys {
    private static final String EXTENSION = "ed25519";

    private final LocalKeyFiles files;
    private final Map<String, List<KeyPair>> loaded = new HashMap<>();

    public LocalSigningKeys(Path keyDir) {
        this.files = new LocalKeyFiles(keyDir);
    }

    @Override
    public synchronized KeySignature sign(String keyName, byte[] message) {
        List<KeyPair> versions = versions(keyName);
        if (versions.isEmpty()) {
            rotate(keyName);
            versions = versions(keyName);
        }
        PrivateKey newest = versions.get(versions.size() - 1).getPrivate();
        try {
            Signature signer = Signature.getInstance("Ed25519");
            signer.initSign(newest);
            signer.update(message);
            return new KeySignature(keyId(keyName, versions.size()), signer.sign());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Ed25519 signing failed", e);
        }
    }

    @Override
    public synchronized List<VerificationKey> verificationKeys(String keyName) {
        List<KeyPair> versions = versions(keyName);
        List<VerificationKey> keys = new ArrayList<>(versions.size());
        for (int i = 0; i < versions.size(); i++) {
            keys.add(new VerificationKey(keyId(keyName, i + 1), rawPublicKey(versions.get(i))));
        }
        return keys;
    }

    @Override
    public synchronized String rotate(String keyName) {
        List<KeyPair> versions = versions(keyName);
        KeyPair created;
        try {
            created = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Ed25519 is not available in this JVM", e);
        }
        List<KeyPair> rotated = new ArrayList<>(versions);
        rotated.add(created);
        List<String[]> lines = new ArrayList<>();
        for (KeyPair pair : rotated) {
            lines.add(new String[]{Base64.getEncoder().encodeToString(pair.getPrivate().getEncoded()),
                    Base64.getEncoder().encodeToString(pair.getPublic().getEncoded())});
        }
        files.writeVersions(files.file(keyName, EXTENSION), lines);
        loaded.put(keyName, rotated);
        return keyId(keyName, rotated.size());
    }

    private List<KeyPair> versions(String keyName) {
        Path file = files.file(keyName, EXTENSION);
        List<KeyPair> cached = loaded.get(keyName);
        if (cached != null) {
            return cached;
        }
        List<KeyPair> versions = new ArrayList<>();
        try {
            KeyFactory factory = KeyFactory.getInstance("Ed25519");
            for (String[] fields : LocalKeyFiles.readVersions(file, 2)) {
                PrivateKey privateKey = factory
                        .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(fields[0])));
                PublicKey publicKey = factory
                        .generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(fields[1])));
                versions.add(new KeyPair(publicKey, privateKey));
            }
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalStateException("Malformed key file " + file, e);
        }
        loaded.put(keyName, versions);
        return versions;
    }

    private static String keyId(String keyName, int version) {
        return "local:" + keyName + ":v" + version;
    }

    private static byte[] rawPublicKey(KeyPair pair) {
        byte[] x509 = pair.getPublic().getEncoded();
        return Arrays.copyOfRange(x509, x509.length - 32, x509.length);
    }
}
