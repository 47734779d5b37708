package dev.loupe.support.kms;

import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.quarkus.vault.client.VaultClient;
import io.quarkus.vault.client.api.common.VaultHashAlgorithm;
import io.quarkus.vault.client.api.secrets.transit.VaultSecretsTransit;
import io.quarkus.vault.client.api.secrets.transit.VaultSecretsTransitCreateKeyParams;
import io.quarkus.vault.client.api.secrets.transit.VaultSecretsTransitKeyInfo;
import io.quarkus.vault.client.api.secrets.transit.VaultSecretsTransitKeyType;
import io.quarkus.vault.client.api.secrets.transit.VaultSecretsTransitRotateKeyParams;

import static dev.loupe.support.kms.VaultTransitCalls.join;
import static dev.loupe.support.kms.VaultTransitCalls.readKey;

/**
 * HMAC keys held by HashiCorp Vault's transit engine: the production provider. Vault keeps an HMAC key in every
 * version of a transit key and never hands it out; Loupe sends the value and reads back the HMAC
 * ({@code vault:v2:<base64>}). Keys are {@code aes256-gcm96}, not exportable, created on first use. The
 * high-level transit engine of quarkus-vault has no HMAC call, so this provider uses its client API.
 */
public final class VaultTransitKeyedHashes implements KeyedHashes {
    private final VaultSecretsTransit transit;
    /** Keys known to exist, so that each hash costs one call to Vault, not two. */
    private final Set<String> existing = ConcurrentHashMap.newKeySet();

    public VaultTransitKeyedHashes(VaultClient client) {
        this.transit = client.secrets().transit();
    }

    @Override
    public KeyedHash hash(String keyName, byte[] data) {
        if (!existing.contains(keyName)) {
            if (readKey(transit, keyName).isEmpty()) {
                join(transit.createKey(keyName, new VaultSecretsTransitCreateKeyParams()
                        .setType(VaultSecretsTransitKeyType.AES256_GCM96)
                        .setExportable(false)));
            }
            existing.add(keyName);
        }
        return hmac(keyName, data, null);
    }

    @Override
    public List<KeyedHash> hashesUnderEveryVersion(String keyName, byte[] data) {
        List<KeyedHash> hashes = new ArrayList<>();
        Optional<VaultSecretsTransitKeyInfo> key = readKey(transit, keyName);
        if (key.isPresent()) {
            // Vault refuses HMACs under versions below min_encryption_version: an operator who raises it retires
            // the hashes made before, which are then found no more.
            Integer minimum = key.get().getMinEncryptionVersion();
            int oldest = Math.max(1, minimum == null ? 1 : minimum);
            for (int version = key.get().getLatestVersion(); version >= oldest; version--) {
                hashes.add(hmac(keyName, data, version));
            }
        }
        return hashes;
    }

    @Override
    public int rotate(String keyName) {
        join(transit.rotateKey(keyName, new VaultSecretsTransitRotateKeyParams()));
        return readKey(transit, keyName).orElseThrow().getLatestVersion();
    }

    private KeyedHash hmac(String keyName, byte[] data, Integer version) {
        String answer = join(transit.hmac(keyName, VaultHashAlgorithm.SHA2_256, data, version));
        // Vault's format: vault:v<version>:<base64 HMAC>.
        String[] parts = answer.split(":", 3);
        if (parts.length != 3 || !parts[0].equals("vault") || !parts[1].startsWith("v")) {
            throw new IllegalStateException("Vault answered an HMAC in an unknown format for key " + keyName);
        }
        return new KeyedHash(Integer.parseInt(parts[1].substring(1)), Base64.getDecoder().decode(parts[2]));
    }

}
