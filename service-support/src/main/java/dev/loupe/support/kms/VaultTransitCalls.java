package dev.loupe.support.kms;

import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

import io.quarkus.vault.client.VaultClientException;
import io.quarkus.vault.client.api.secrets.transit.VaultSecretsTransit;
import io.quarkus.vault.client.api.secrets.transit.VaultSecretsTransitKeyInfo;

/** How the Vault providers that use quarkus-vault's client API wait for its answers. */
final class VaultTransitCalls {
    private VaultTransitCalls() {
    }

    /** Waits for Vault's answer, rethrowing its own exception rather than a wrapper. */
    static <T> T join(CompletionStage<T> answer) {
        try {
            return answer.toCompletableFuture().join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException cause) {
                throw cause;
            }
            throw e;
        }
    }

    /** The named transit key, or empty when Vault has none (404). */
    static Optional<VaultSecretsTransitKeyInfo> readKey(VaultSecretsTransit transit, String keyName) {
        try {
            return Optional.of(join(transit.readKey(keyName)));
        } catch (VaultClientException e) {
            if (e.getStatus() != null && e.getStatus() == 404) {
                return Optional.empty();
            }
            throw e;
        }
    }
}
