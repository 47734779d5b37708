package dev.loupe.support.kms;

import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HMAC keys in files on this machine: the embedded default. Each key name has one file {@code <name>.hmac} in
 * the key folder, one line per version ({@code v<n> <base64 32-byte key>}), readable by the owner only.
 */
public final class LocalKeyedHashes implements KeyedHashes {
    private static final String EXTENSION = "hmac";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final LocalKeyFiles files;
    private final Map<String, List<SecretKeySpec>> loaded = new HashMap<>();

    public LocalKeyedHashes(Path keyDir) {
        this.files = new LocalKeyFiles(keyDir);
    }

    @Override
    public KeyedHash hash(String keyName, byte[] data) {
        List<SecretKeySpec> versions;
        synchronized (this) {
            versions = versions(keyName);
            if (versions.isEmpty()) {
                rotate(keyName);
                versions = versions(keyName);
            }
        }
        return new KeyedHash(versions.size(), mac(versions.get(versions.size() - 1), data));
    }

    @Override
    public List<KeyedHash> hashesUnderEveryVersion(String keyName, byte[] data) {
        List<SecretKeySpec> versions;
        synchronized (this) {
            versions = versions(keyName);
        }
        List<KeyedHash> hashes = new ArrayList<>(versions.size());
        for (int version = versions.size(); version >= 1; version--) {
            hashes.add(new KeyedHash(version, mac(versions.get(version - 1), data)));
        }
        return hashes;
    }

    @Override
    public synchronized int rotate(String keyName) {
        byte[] key = new byte[32];
        RANDOM.nextBytes(key);
        List<SecretKeySpec> rotated = new ArrayList<>(versions(keyName));
        rotated.add(new SecretKeySpec(key, "HmacSHA256"));
        List<String[]> lines = new ArrayList<>();
        for (SecretKeySpec version : rotated) {
            lines.add(new String[]{Base64.getEncoder().encodeToString(version.getEncoded())});
        }
        files.writeVersions(files.file(keyName, EXTENSION), lines);
        loaded.put(keyName, List.copyOf(rotated));
        return rotated.size();
    }

    private List<SecretKeySpec> versions(String keyName) {
        Path file = files.file(keyName, EXTENSION);
        List<SecretKeySpec> cached = loaded.get(keyName);
        if (cached != null) {
            return cached;
        }
        List<SecretKeySpec> versions = new ArrayList<>();
        for (String[] fields : LocalKeyFiles.readVersions(file, 1)) {
            byte[] key;
            try {
                key = Base64.getDecoder().decode(fields[0]);
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("Malformed key file " + file, e);
            }
            if (key.length != 32) {
                throw new IllegalStateException("Malformed key file " + file + ": a key is not 32 bytes");
            }
            versions.add(new SecretKeySpec(key, "HmacSHA256"));
        }
        loaded.put(keyName, List.copyOf(versions));
        return loaded.get(keyName);
    }

    private static byte[] mac(SecretKeySpec key, byte[] data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JVM", e);
        }
    }
}
