package dev.loupe.support.kms;

import java.util.Base64;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
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

/**
 * Key-encryption keys held by HashiCorp Vault's transit engine: the production provider. The KEK never leaves
 * Vault: data keys come from {@code transit/datakey/plaintext}, are unwrapped by {@code transit/decrypt} and moved
 * to the newest version by {@code transit/rewrap}; wrappings are Vault's ciphertexts ({@code vault:v<n>:...}).
 * KEKs are {@code aes256-gcm96}, not exportable, created on first use; destroying one allows its deletion first,
 * since Vault refuses to delete a key otherwise.
 */
public final class VaultTransitDataKeys implements DataKeys {
    private final VaultSecretsTransit transit;
    /** KEKs known to exist, so that each data key costs one call to Vault, not two. */
    private final Set<String> existing = ConcurrentHashMap.newKeySet();

    public VaultTransitDataKeys(VaultClient client) {
        this.transit = client.secrets().transit();
    }

    @Override
    public DataKey generate(String keyName) {
        if (!existing.contains(keyName)) {
            if (!exists(keyName)) {
                join(transit.createKey(keyName, new VaultSecretsTransitCreateKeyParams()
                        .setType(VaultSecretsTransitKeyType.AES256_GCM96)
                        .setExportable(false)));
            }
            existing.add(keyName);
        }
        VaultSecretsTransitGenerateDataKeyResultData key = join(transit.generateDataKey(
                VaultSecretsTransitDataKeyType.PLAINTEXT, keyName, new VaultSecretsTransitGenerateDataKeyParams()));
        return new DataKey(Base64.getDecoder().decode(key.getPlaintext()), key.getCiphertext());
    }

    @Override
    public byte[] unwrap(String keyName, String wrapped) {
        DataKeys.versionOf(wrapped);
        try {
            return join(transit.decrypt(keyName, new VaultSecretsTransitDecryptParams().setCiphertext(wrapped)));
        } catch (VaultClientException e) {
            if (e.getStatus() != null && (e.getStatus() == 400 || e.getStatus() == 404)) {
                // Vault's answers for a destroyed key, a retired version and a failed integrity check.
                throw new DataKeyUnavailableException("Vault cannot unwrap a data key of " + keyName + ": "
                        + e.getErrors(), e);
            }
            throw e;
        }
    }

    @Override
    public String rewrap(String keyName, String wrapped) {
        try {
            return join(transit.rewrap(keyName, new VaultSecretsTransitRewrapParams().setCiphertext(wrapped)))
                    .getCiphertext();
        } catch (VaultClientException e) {
            if (e.getStatus() != null && (e.getStatus() == 400 || e.getStatus() == 404)) {
                throw new DataKeyUnavailableException("Vault cannot rewrap a data key of " + keyName + ": "
                        + e.getErrors(), e);
            }
            throw e;
        }
    }

    @Override
    public int rotate(String keyName) {
        join(transit.rotateKey(keyName, new VaultSecretsTransitRotateKeyParams()));
        return join(transit.readKey(keyName)).getLatestVersion();
    }

    @Override
    public void setMinDecryptionVersion(String keyName, int version) {
        join(transit.updateKey(keyName, new VaultSecretsTransitUpdateKeyParams().setMinDecryptionVersion(version)));
    }

    @Override
    public void destroy(String keyName) {
        existing.remove(keyName);
        if (!exists(keyName)) {
            return;
        }
        join(transit.updateKey(keyName, new VaultSecretsTransitUpdateKeyParams().setDeletionAllowed(true)));
        join(transit.deleteKey(keyName));
    }

    private boolean exists(String keyName) {
        try {
            join(transit.readKey(keyName));
            return true;
        } catch (VaultClientException e) {
            if (e.getStatus() != null && e.getStatus() == 404) {
                return false;
            }
            throw e;
        }
    }

    /** Waits for Vault's answer, rethrowing its own exception rather than a wrapper. */
    private static <T> T join(CompletionStage<T> answer) {
        try {
            return answer.toCompletableFuture().join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException cause) {
                throw cause;
            }
            throw e;
        }
    }
}
