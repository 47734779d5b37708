package dev.loupe.support.kms;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import jakarta.enterprise.inject.Produces;

import io.quarkus.vault.VaultTransitSecretEngine;
import io.quarkus.vault.client.VaultClient;

/** Makes the keys of the KMS that {@code loupe.kms.provider} names available for injection. */
@ApplicationScoped
public class KmsProducer {

    @Produces
    @ApplicationScoped
    SigningKeys signingKeys(KmsConfig config, Instance<VaultTransitSecretEngine> vault) {
        return switch (config.provider()) {
            case local -> new LocalSigningKeys(config.local().keyDir());
            // Vault's address and login are the extension's own settings: quarkus.vault.url and
            // quarkus.vault.authentication.* (a Kubernetes service account in a cluster).
            case vault -> new VaultTransitSigningKeys(vault.get());
        };
    }

    @Produces
    @ApplicationScoped
    DataKeys dataKeys(KmsConfig config, Instance<VaultClient> vaultClient) {
        return switch (config.provider()) {
            case local -> new LocalDataKeys(config.local().keyDir());
            case vault -> new VaultTransitDataKeys(vaultClient.get());
        };
    }

    @Produces
    @ApplicationScoped
    KeyedHashes keyedHashes(KmsConfig config, Instance<VaultClient> vaultClient) {
        return switch (config.provider()) {
            case local -> new LocalKeyedHashes(config.local().keyDir());
            case vault -> new VaultTransitKeyedHashes(vaultClient.get());
        };
    }
}
