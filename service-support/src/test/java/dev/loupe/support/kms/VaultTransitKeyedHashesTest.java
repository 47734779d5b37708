package dev.loupe.support.kms;

import java.net.http.HttpClient;
import java.util.List;

import io.quarkus.vault.client.VaultClient;
import io.quarkus.vault.client.VaultClientException;
import io.quarkus.vault.client.http.jdk.JDKVaultHttpClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.loupe.support.testing.VaultTransitStandIn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The Vault provider through quarkus-vault's own client, against the transit stand-in (no Vault server can run
 * where Loupe is built).
 */
class VaultTransitKeyedHashesTest extends KeyedHashesContract {
    private VaultTransitStandIn vault;

    @Override
    KeyedHashes keyedHashes() throws Exception {
        vault = new VaultTransitStandIn("test-token");
        return new VaultTransitKeyedHashes(client(vault.url(), "test-token"));
    }

    @AfterEach
    void stop() {
        if (vault != null) {
            vault.close();
            assertEquals(List.of(), vault.unhandled());
        }
    }

    @Test
    void aWrongTokenIsAnErrorNotAnEmptyAnswer() throws Exception {
        vault = new VaultTransitStandIn("test-token");
        KeyedHashes hashes = new VaultTransitKeyedHashes(client(vault.url(), "wrong-token"));
        VaultClientException error = assertThrows(VaultClientException.class,
                () -> hashes.hash("audit-usernames-acme", new byte[]{1}));
        assertEquals(403, error.getStatus());
    }

    private static VaultClient client(String url, String token) {
        return VaultClient.builder()
                .baseUrl(url)
                .executor(new JDKVaultHttpClient(HttpClient.newHttpClient()))
                .clientToken(token)
                .build();
    }
}
