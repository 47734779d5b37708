package dev.loupe.support.kms;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
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
 * readable by the owner only. The state of a version is {@code active}, {@code retired} when it is below the
 * minimum decryption version, or {@code trimmed} when {@link #trim} deleted it: its key bytes are gone from the
 * file (written {@code -}), so no later change of the minimum brings it back. The minimum is kept in the same file as the keys, so that one atomic rename changes
 * both and a crash leaves either the old file or the new one, never a minimum that belongs to another generation
 * of the KEK (as a separate file could, after a crash between two deletions).
 *
 * <p>
 * A data key is wrapped with AES-256-GCM under the newest version, a random 12-byte nonce and the KEK's name in
 * UTF-8 as additional authenticated data, so a wrapping presented under another KEK fails even if that KEK holds
 * the same key bytes: {@code local:v<n>:<base64 nonce || ciphertext || tag>}. Destroying a KEK deletes its file;
 * whoever kept a copy of the file can still unwrap, so the key folder must not be backed up with the data it
 * protects. KEKs are cached once read: the folder belongs to one process at a time.
 */
public final class LocalDataKeys implements DataKeys {
    private static final String EXTENSION = "kek";
    private static final String PREFIX = "local";
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;

    /**
     * One version of a KEK; {@code retired} when it is below the minimum decryption version; trimmed (its key
     * null) when deleted for good.
     */
    private record Version(SecretKeySpec key, boolean retired) {
        boolean trimmed() {
            return key == null;
        }
    }

    /** What a trimmed version's key field holds. */
    private static final String TRIMMED_KEY = "-";

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
        return new DataKey(plaintext, wrap(keyName, versions, plaintext));
    }

    @Override
    public byte[] unwrap(String keyName, String wrapped) {
        int version = versionOf(keyName, wrapped);
        List<Version> versions;
        synchronized (this) {
            versions = versions(keyName);
        }
        if (versions.isEmpty()) {
            throw new DataKeyUnavailableException("Cannot unwrap a data key under version " + version + " of key "
                    + keyName + ": the key does not exist (destroyed?)");
        }
        if (version < 1 || version > versions.size()) {
            throw new DataKeyUnavailableException("Cannot unwrap a data key under version " + version + " of key "
                    + keyName + ": the key has versions 1 to " + versions.size());
        }
        Version kek = versions.get(version - 1);
        if (kek.retired()) {
            throw new DataKeyUnavailableException("Cannot unwrap a data key under version " + version + " of key "
                    + keyName + ": the version is below the key's minimum decryption version");
        }
        byte[] sealed;
        try {
            sealed = Base64.getDecoder().decode(wrapped.substring(wrapped.indexOf(':', PREFIX.length() + 1) + 1));
        } catch (IllegalArgumentException e) {
            throw new DataKeyUnavailableException("Cannot unwrap a data key under version " + version + " of key "
                    + keyName + ": the wrapping is not base64");
        }
        if (sealed.length < NONCE_BYTES + TAG_BITS / 8) {
            throw new DataKeyUnavailableException("Cannot unwrap a data key under version " + version + " of key "
                    + keyName + ": the wrapping is too short");
        }
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.DECRYPT_MODE, kek.key(), new GCMParameterSpec(TAG_BITS, sealed, 0, NONCE_BYTES));
            cipher.updateAAD(keyName.getBytes(StandardCharsets.UTF_8));
            return cipher.doFinal(sealed, NONCE_BYTES, sealed.length - NONCE_BYTES);
        } catch (AEADBadTagException e) {
            throw new DataKeyUnavailableException("Cannot unwrap a data key under version " + version + " of key "
                    + keyName + ": it fails its integrity check (altered, or wrapped under another key)");
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
        if (versions.isEmpty()) {
            // Destroyed by another thread between the unwrap and now.
            throw new DataKeyUnavailableException("Cannot rewrap a data key of key " + keyName
                    + ": the key does not exist (destroyed?)");
        }
        return wrap(keyName, versions, plaintext);
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
        if (versions.isEmpty()) {
            throw new IllegalArgumentException("Key " + keyName + " does not exist");
        }
        if (version < 1 || version > versions.size()) {
            throw new IllegalArgumentException("Cannot set the minimum decryption version of key " + keyName
                    + " to " + version + ": it has versions 1 to " + versions.size());
        }
        if (versions.get(version - 1).trimmed()) {
            throw new IllegalArgumentException("Cannot set the minimum decryption version of key " + keyName
                    + " to " + version + ": versions below " + (trimmedBelow(versions) + 1) + " were trimmed");
        }
        List<Version> updated = new ArrayList<>(versions.size());
        for (int i = 0; i < versions.size(); i++) {
            updated.add(new Version(versions.get(i).key(), i + 1 < version));
        }
        write(keyName, updated);
    }

    @Override
    public synchronized void trim(String keyName, int version) {
        List<Version> versions = versions(keyName);
        if (versions.isEmpty()) {
            throw new IllegalArgumentException("Key " + keyName + " does not exist");
        }
        // Every version below the one given must be retired already: that is, it is at most the minimum.
        if (version < 1 || version > versions.size() || version > 1 && !versions.get(version - 2).retired()) {
            throw new IllegalArgumentException("Cannot trim key " + keyName + " below version " + version
                    + ": only versions below the minimum decryption version can be trimmed");
        }
        List<Version> updated = new ArrayList<>(versions.size());
        for (int i = 0; i < versions.size(); i++) {
            updated.add(i + 1 < version ? new Version(null, true) : versions.get(i));
        }
        write(keyName, updated);
    }

    /** How many of the oldest versions were trimmed. */
    private static int trimmedBelow(List<Version> versions) {
        int count = 0;
        while (count < versions.size() && versions.get(count).trimmed()) {
            count++;
        }
        return count;
    }

    @Override
    public synchronized void destroy(String keyName) {
        files.delete(files.file(keyName, EXTENSION));
        loaded.remove(keyName);
    }

    /** The version a wrapping names, refusing wrappings of another provider. */
    private static int versionOf(String keyName, String wrapped) {
        if (!wrapped.startsWith(PREFIX + ":")) {
            throw new DataKeyUnavailableException("Cannot unwrap a data key of key " + keyName
                    + ": not a wrapping of the local KMS");
        }
        try {
            return DataKeys.versionOf(wrapped);
        } catch (DataKeyUnavailableException e) {
            throw new DataKeyUnavailableException("Cannot unwrap a data key of key " + keyName
                    + ": the wrapping has no version", e);
        }
    }

    /** Wraps under the newest version, which is never retired: the minimum is at most the newest version. */
    private static String wrap(String keyName, List<Version> versions, byte[] plaintext) {
        byte[] nonce = new byte[NONCE_BYTES];
        RANDOM.nextBytes(nonce);
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, versions.get(versions.size() - 1).key(),
                    new GCMParameterSpec(TAG_BITS, nonce));
            cipher.updateAAD(keyName.getBytes(StandardCharsets.UTF_8));
            byte[] sealed = cipher.doFinal(plaintext);
            ByteBuffer out = ByteBuffer.allocate(NONCE_BYTES + sealed.length).put(nonce).put(sealed);
            return PREFIX + ":v" + versions.size() + ":" + Base64.getEncoder().encodeToString(out.array());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available in this JVM", e);
        }
    }

    private void write(String keyName, List<Version> versions) {
        List<String[]> lines = new ArrayList<>(versions.size());
        for (Version version : versions) {
            lines.add(version.trimmed()
                    ? new String[]{TRIMMED_KEY, "trimmed"}
                    : new String[]{Base64.getEncoder().encodeToString(version.key().getEncoded()),
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
            int number = versions.size() + 1;
            if (fields[1].equals("trimmed")) {
                // Trimmed versions are the oldest ones, below every kept version.
                if (!fields[0].equals(TRIMMED_KEY) || number > 1 && !versions.get(number - 2).trimmed()) {
                    throw new IllegalStateException("Malformed key file " + file + " at version " + number);
                }
                versions.add(new Version(null, true));
                continue;
            }
            byte[] key;
            try {
                key = Base64.getDecoder().decode(fields[0]);
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("Malformed key file " + file + " at version " + number, e);
            }
            boolean retired = fields[1].equals("retired");
            if (key.length != 32 || !(retired || fields[1].equals("active"))) {
                throw new IllegalStateException("Malformed key file " + file + " at version " + number);
            }
            // Retired versions are those below one minimum: an active version before a retired one is no state
            // that this class writes.
            if (retired && number > 1 && !versions.get(number - 2).retired()) {
                throw new IllegalStateException("Malformed key file " + file + " at version " + number
                        + ": retired after an active version");
            }
            versions.add(new Version(new SecretKeySpec(key, "AES"), retired));
        }
        if (!versions.isEmpty() && versions.get(versions.size() - 1).retired()) {
            throw new IllegalStateException("Malformed key file " + file + ": its newest version is retired");
        }
        loaded.put(keyName, List.copyOf(versions));
        return loaded.get(keyName);
    }
}
