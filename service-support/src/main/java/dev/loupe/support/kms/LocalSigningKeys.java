package dev.loupe.support.kms;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
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
import java.util.regex.Pattern;

/**
 * Signing keys in files on this machine: the embedded default. Each key name has one file {@code <name>.ed25519}
 * in the key folder, one line per version ({@code v<n> <base64 PKCS#8 private key> <base64 X.509 public key>}),
 * readable by the owner only. Whoever can read the folder can sign, so production uses Vault, where the private keys never leave it.
 */
public final class LocalSigningKeys implements SigningKeys {
    private static final Pattern KEY_NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");

    private final Path keyDir;
    private final Map<String, List<KeyPair>> loaded = new HashMap<>();

    public LocalSigningKeys(Path keyDir) {
        this.keyDir = keyDir;
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
        StringBuilder file = new StringBuilder();
        List<KeyPair> rotated = new ArrayList<>(versions);
        rotated.add(created);
        for (int i = 0; i < rotated.size(); i++) {
            file.append('v').append(i + 1).append(' ')
                    .append(Base64.getEncoder().encodeToString(rotated.get(i).getPrivate().getEncoded()))
                    .append(' ')
                    .append(Base64.getEncoder().encodeToString(rotated.get(i).getPublic().getEncoded()))
                    .append('\n');
        }
        writeOwnerOnly(keyFile(keyName), file.toString());
        loaded.put(keyName, rotated);
        return keyId(keyName, rotated.size());
    }

    private List<KeyPair> versions(String keyName) {
        if (!KEY_NAME.matcher(keyName).matches()) {
            throw new IllegalArgumentException("Invalid key name: " + keyName);
        }
        List<KeyPair> cached = loaded.get(keyName);
        if (cached != null) {
            return cached;
        }
        Path file = keyFile(keyName);
        List<KeyPair> versions = new ArrayList<>();
        if (Files.exists(file)) {
            try {
                KeyFactory factory = KeyFactory.getInstance("Ed25519");
                for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
                    if (line.isBlank()) {
                        continue;
                    }
                    String[] parts = line.split(" ");
                    if (parts.length != 3 || !parts[0].equals("v" + (versions.size() + 1))) {
                        throw new IllegalStateException("Malformed key file " + file + " at version "
                                + (versions.size() + 1));
                    }
                    PrivateKey privateKey = factory
                            .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(parts[1])));
                    PublicKey publicKey = factory
                            .generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(parts[2])));
                    versions.add(new KeyPair(publicKey, privateKey));
                }
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read key file " + file, e);
            } catch (GeneralSecurityException | IllegalArgumentException e) {
                throw new IllegalStateException("Malformed key file " + file, e);
            }
        }
        loaded.put(keyName, versions);
        return versions;
    }

    private Path keyFile(String keyName) {
        return keyDir.resolve(keyName + ".ed25519");
    }

    private static String keyId(String keyName, int version) {
        return "local:" + keyName + ":v" + version;
    }

    private static byte[] rawPublicKey(KeyPair pair) {
        byte[] x509 = pair.getPublic().getEncoded();
        return Arrays.copyOfRange(x509, x509.length - 32, x509.length);
    }

    /** Writes the file through a temporary one and a rename, so a crash never leaves half a key file. */
    private void writeOwnerOnly(Path file, String content) {
        try {
            if (!Files.isDirectory(keyDir)) {
                try {
                    Files.createDirectories(keyDir.getParent() == null ? keyDir : keyDir.getParent());
                    Files.createDirectory(keyDir, PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rwx------")));
                } catch (FileAlreadyExistsException raced) {
                    // Another process created it first: fine.
                }
            }
            Path temporary = Files.createTempFile(keyDir, file.getFileName().toString(), ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(temporary, content, StandardCharsets.US_ASCII, StandardOpenOption.SYNC);
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write key file " + file, e);
        }
    }
}
