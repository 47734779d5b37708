package dev.loupe.support.kms;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Key-encryption keys in files on this machine: the embedded default. Each KEK name has one file
 * {@code <name>.kek} in the key folder, one line per version ({@code v<n> <base64 32-byte AES key> <state>}),
 * readable by the owner only; the state of a version is {@code active} or {@code retired} (below the minimum
 * decryption version), kept in the same file so that one atomic rename changes it. A data key is wrapped with
 * AES-256-GCM under the newest version, a random 12-byte nonce and the KEK's name as additional authenticated data
 * (a wrapping presented under another KEK fails): {@code local:v<n>:<base64 nonce || ciphertext || tag>}.
 * Destroying a KEK deletes its file; whoever kept a copy of the file can still unwrap, so the key folder must not
 * be backed up with the data it protects.
 */
public final class LocalDataKeys implements DataKeys {
    private static final String EXTENSION = "kek";
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int NONCE_BYTES = 12;

    private record Version(SecretKeySpec key, boolean retired) {
    }

    private final LocalKeyFiles files;
    private final Map<String, List<Version>> loaded = new HashMap<>();

    public LocalDataKeys(Path keyDir) {
        this.files = new LocalKeyFiles(keyDir);
    }

    @Override
    public DataKey generate(String keyName) {
        List<Version> versions;
        synchronized (this) {
            versions = versions(keyName);
            if (versions.isEmpty()) {
                rotate(keyName);
                versions = versions(keyName);
            }
        }
        byte[] plaintext = new byte[32];
        RANDOM.nextBytes(plaintext);
        return new DataKey(plaintext, wrap(keyName, versions.size(), versions.get(versions.size() - 1), plaintext));
    }

    @Override
    public byte[] unwrap(String keyName, String wrapped) {
        int version = DataKeys.versionOf(wrapped);
        if (!wrapped.startsWith("local:")) {
            throw new DataKeyUnavailableException("not a wrapping of the local KMS: " + keyName);
        }
        List<Version> versions;
        synchronized (this) {
            versions = versions(keyName);
        }
        if (versions.isEmpty()) {
            throw new DataKeyUnavailableException("the key " + keyName + " does not exist (destroyed?)");
        }
        if (version < 1 || version > versions.size()) {
            throw new DataKeyUnavailableException("the key " + keyName + " has no version " + version);
        }
        Version kek = versions.get(version - 1);
        if (kek.retired()) {
            throw new DataKeyUnavailableException("version " + version + " of the key " + keyName
                    + " is below its minimum decryption version");
        }
        byte[] sealed;
        try {
            sealed = Base64.getDecoder().decode(wrapped.substring(wrapped.indexOf(':', 6) + 1));
        } catch (IllegalArgumentException e) {
            throw new DataKeyUnavailableException("a wrapped data key of " + keyName + " is not base64");
        }
        if (sealed.length <= NONCE_BYTES) {
            throw new DataKeyUnavailableException("a wrapped data key of " + keyName + " is too short");
        }
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.DECRYPT_MODE, kek.key(), new GCMParameterSpec(128, sealed, 0, NONCE_BYTES));
            cipher.updateAAD(keyName.getBytes(StandardCharsets.UTF_8));
            return cipher.doFinal(sealed, NONCE_BYTES, sealed.length - NONCE_BYTES);
        } catch (AEADBadTagException e) {
            throw new DataKeyUnavailableException("a wrapped data key failed its integrity check under version "
                    + version + " of " + keyName + ": altered, or wrapped by another key");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available in this JVM", e);
        }
    }

    @Override
    public String rewrap(String keyName, String wrapped) {
        byte[] plaintext = unwrap(keyName, wrapped);
        List<Version> versions;
        synchronized (this) {
            versions = versions(keyName);
        }
        return wrap(keyName, versions.size(), versions.get(versions.size() - 1), plaintext);
    }

    @Override
    public synchronized int rotate(String keyName) {
        byte[] key = new byte[32];
        RANDOM.nextBytes(key);
        List<Version> rotated = new ArrayList<>(versions(keyName));
        rotated.add(new Version(new SecretKeySpec(key, "AES"), false));
        write(keyName, rotated);
        return rotated.size();
    }

    @Override
    public synchronized void setMinDecryptionVersion(String keyName, int version) {
        List<Version> versions = versions(keyName);
        if (version < 1 || version > versions.size()) {
            throw new IllegalArgumentException("the key " + keyName + " has versions 1 to " + versions.size());
        }
        List<Version> updated = new ArrayList<>();
        for (int i = 0; i < versions.size(); i++) {
            updated.add(new Version(versions.get(i).key(), i + 1 < version));
        }
        write(keyName, updated);
    }

    @Override
    public synchronized void destroy(String keyName) {
        Path file = files.file(keyName, EXTENSION);
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot delete key file " + file, e);
        }
        loaded.remove(keyName);
    }

    private String wrap(String keyName, int version, Version kek, byte[] plaintext) {
        byte[] nonce = new byte[NONCE_BYTES];
        RANDOM.nextBytes(nonce);
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, kek.key(), new GCMParameterSpec(128, nonce));
            cipher.updateAAD(keyName.getBytes(StandardCharsets.UTF_8));
            byte[] sealed = cipher.doFinal(plaintext);
            ByteBuffer out = ByteBuffer.allocate(NONCE_BYTES + sealed.length).put(nonce).put(sealed);
            return "local:v" + version + ":" + Base64.getEncoder().encodeToString(out.array());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available in this JVM", e);
        }
    }

    private void write(String keyName, List<Version> versions) {
        List<String[]> lines = new ArrayList<>();
        for (Version version : versions) {
            lines.add(new String[]{Base64.getEncoder().encodeToString(version.key().getEncoded()),
                    version.retired() ? "retired" : "active"});
        }
        files.writeVersions(files.file(keyName, EXTENSION), lines);
        loaded.put(keyName, List.copyOf(versions));
    }

    private List<Version> versions(String keyName) {
        Path file = files.file(keyName, EXTENSION);
        List<Version> cached = loaded.get(keyName);
        if (cached != null) {
            return cached;
        }
        List<Version> versions = new ArrayList<>();
        for (String[] fields : LocalKeyFiles.readVersions(file, 2)) {
            byte[] key;
            try {
                key = Base64.getDecoder().decode(fields[0]);
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("Malformed key file " + file, e);
            }
            if (key.length != 32 || !(fields[1].equals("active") || fields[1].equals("retired"))) {
                throw new IllegalStateException("Malformed key file " + file + " at version " + (versions.size() + 1));
            }
            versions.add(new Version(new SecretKeySpec(key, "AES"), fields[1].equals("retired")));
        }
        loaded.put(keyName, List.copyOf(versions));
        return loaded.get(keyName);
    }
}
