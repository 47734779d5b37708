package dev.loupe.support.kms;

import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.quarkus.vault.client.VaultClient;
import io.quarkus.vault.client.VaultClientException;
import io.quarkus.vault.client.api.secrets.transit.VaultSecretsTransit;
import io.quarkus.vault.client.api.secrets.transit.VaultSecretsTransitCreateKeyParams;
import io.quarkus.vault.client.api.secrets.transit.VaultSecretsTransitDataKeyType;
import io.quarkus.vault.client.api.secrets.transit.VaultSecretsTransitDecryptParams;
import io.quarkus.vault.client.api.secrets.transit.VaultSecretsTransitGenerateDataKeyParams;
import io.quarkus.vault.client.api.secrets.transit.VaultSecretsTransitGenerateDataKeyResultData;
import io.quarkus.vault.client.api.secrets.transit.VaultSecretsTransitKeyType;
import io.quarkus.vault.client.api.secrets.transit.VaultSecretsTransitRewrapParams;
import io.quarkus.vault.client.api.secrets.transit.VaultSecretsTransitRotateKeyParams;
import io.quarkus.vault.client.api.secrets.transit.VaultSecretsTransitUpdateKeyParams;

import static dev.loupe.support.kms.VaultTransitCalls.join;
import static dev.loupe.support.kms.VaultTransitCalls.readKey;

/**
 * Key-encryption keys held by HashiCorp Vault's transit engine: the production provider. The KEK never leaves
 * Vault: data keys come from {@code transit/datakey/plaintext}, are unwrapped by {@code transit/decrypt} and moved
 * to the newest version by {@code transit/rewrap}; wrappings are Vault's ciphertexts as it returns them
 * ({@code vault:v<n>:<base64 nonce || ciphertext || tag>}). KEKs are {@code aes256-gcm96}, not exportable,
 * created on first use; destroying one allows its deletion first, since Vault refuses to delete a key otherwise.
 */
public final class VaultTransitDataKeys implements DataKeys {
    /**
     * What Vault answers (400) when a ciphertext cannot be decrypted by the key named in the path: a missing key,
     * a malformed or too new ciphertext ({@code invalid ciphertext: ...}), a version below the minimum decryption
     * version, a failed GCM tag check. Other 400s (a request Loupe got wrong) stay errors, not "data gone".
     */
    private static final List<String> UNAVAILABLE = List.of("encryption key not found", "invalid ciphertext",
            "disallowed by policy (too old)", "cipher: message authentication failed");

    private final VaultSecretsTransit transit;
    /** KEKs known to exist, so that each data key costs one call to Vault, not two. */
    private final Set<String> existing = ConcurrentHashMap.newKeySet();

    public VaultTransitDataKeys(VaultClient client) {
        this.transit = client.secrets().transit();
    }

    @Override
    public DataKey generate(String keyName) {
        if (!existing.contains(keyName)) {
            createIfAbsent(keyName);
        }
        VaultSecretsTransitGenerateDataKeyResultData key;
        try {
            key = generateDataKey(keyName);
        } catch (VaultClientException e) {
            if (!isMissingKey(e)) {
                throw e;
            }
            // Destroyed since it was cached, by another instance: make the fresh KEK that generate promises.
            existing.remove(keyName);
            createIfAbsent(keyName);
            key = generateDataKey(keyName);
        }
        byte[] plaintext = Base64.getDecoder().decode(key.getPlaintext());
        if (plaintext.length != 32) {
            throw new IllegalStateException("Vault answered a data key of " + plaintext.length
                    + " bytes for key " + keyName + ", not 32");
        }
        return new DataKey(plaintext, key.getCiphertext());
    }

    @Override
    public byte[] unwrap(String keyName, String wrapped) {
        int version = DataKeys.versionOf(wrapped);
        try {
            return join(transit.decrypt(keyName, new VaultSecretsTransitDecryptParams().setCiphertext(wrapped)));
        } catch (VaultClientException e) {
            throw unavailable("unwrap", keyName, version, e);
        }
    }

    @Override
    public String rewrap(String keyName, String wrapped) {
        int version = DataKeys.versionOf(wrapped);
        try {
            return join(transit.rewrap(keyName, new VaultSecretsTransitRewrapParams().setCiphertext(wrapped)))
                    .getCiphertext();
        } catch (VaultClientException e) {
            throw unavailable("rewrap", keyName, version, e);
        }
    }

    @Override
    public int rotate(String keyName) {
        // Vault refuses to rotate a key that does not exist; like the local provider, make its first version instead.
        if (readKey(transit, keyName).isEmpty()) {
            createIfAbsent(keyName);
            return readKey(transit, keyName).orElseThrow().getLatestVersion();
        }
        join(transit.rotateKey(keyName, new VaultSecretsTransitRotateKeyParams()));
        return readKey(transit, keyName).orElseThrow().getLatestVersion();
    }

    @Override
    public void setMinDecryptionVersion(String keyName, int version) {
        if (version < 1) {
            // Vault would take 0 for 1 and answer a warning only; refuse it as the local provider does.
            throw new IllegalArgumentException("Cannot set the minimum decryption version of key " + keyName
                    + " to " + version + ": versions start at 1");
        }
        try {
            join(transit.updateKey(keyName, new VaultSecretsTransitUpdateKeyParams()
                    .setMinDecryptionVersion(version)));
        } catch (VaultClientException e) {
            if (e.getStatus() != null && e.getStatus() == 400) {
                // "cannot set min decryption version of 3, latest key version is 2", "no existing key named ...".
                throw new IllegalArgumentException("Cannot set the minimum decryption version of key " + keyName
                        + " to " + version + ": " + e.getErrors(), e);
            }
            throw e;
        }
    }

    @Override
    public void trim(String keyName, int version) {
        try {
            // Vault trims only up to the minimum encryption version, which must be set: raise it first (new data
            // keys are wrapped under the newest version anyway, so nothing else changes).
            join(transit.updateKey(keyName, new VaultSecretsTransitUpdateKeyParams().setMinEncryptionVersion(version)));
            join(transit.trimKey(keyName, version));
        } catch (VaultClientException e) {
            if (e.getStatus() != null && e.getStatus() == 400) {
                // "cannot set min available version ... greater than minimum decryption version".
                throw new IllegalArgumentException("Cannot trim key " + keyName + " below version " + version + ": "
                        + e.getErrors(), e);
            }
            throw e;
        }
    }

    @Override
    public void destroy(String keyName) {
        existing.remove(keyName);
        if (readKey(transit, keyName).isEmpty()) {
            return;
        }
        join(transit.updateKey(keyName, new VaultSecretsTransitUpdateKeyParams().setDeletionAllowed(true)));
        join(transit.deleteKey(keyName));
    }

    private void createIfAbsent(String keyName) {
        if (readKey(transit, keyName).isEmpty()) {
            // Creating a key that exists changes nothing in Vault, so a race with another instance is harmless.
            join(transit.createKey(keyName, new VaultSecretsTransitCreateKeyParams()
                    .setType(VaultSecretsTransitKeyType.AES256_GCM96)
                    .setExportable(false)));
        }
        existing.add(keyName);
    }

    private VaultSecretsTransitGenerateDataKeyResultData generateDataKey(String keyName) {
        return join(transit.generateDataKey(VaultSecretsTransitDataKeyType.PLAINTEXT, keyName,
                new VaultSecretsTransitGenerateDataKeyParams().setBits(256)));
    }

    private static boolean isMissingKey(VaultClientException e) {
        return e.getStatus() != null && e.getStatus() == 400 && e.hasErrorContaining("encryption key not found");
    }

    /** Vault's refusal to decrypt as a {@link DataKeyUnavailableException}; any other error unchanged. */
    private static RuntimeException unavailable(String operation, String keyName, int version,
            VaultClientException e) {
        Integer status = e.getStatus();
        boolean refused = status != null
                && (status == 404 || (status == 400 && UNAVAILABLE.stream().anyMatch(e::hasErrorContaining)));
        if (!refused) {
            return e;
        }
        return new DataKeyUnavailableException("Vault cannot " + operation + " a data key under version " + version
                + " of key " + keyName + ": " + e.getErrors(), e);
    }
}
