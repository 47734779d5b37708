package dev.loupe.support.kms;

import java.net.http.HttpClient;
import java.util.List;

import io.quarkus.vault.client.VaultClient;
import io.quarkus.vault.client.http.jdk.JDKVaultHttpClient;
import org.junit.jupiter.api.AfterEach;

import dev.loupe.support.testing.VaultTransitStandIn;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The Vault provider through quarkus-vault's own client, against the transit stand-in (no Vault server can run
 * where Loupe is built).
 */
class VaultTransitDataKeysTest extends DataKeysContract {
    private VaultTransitStandIn vault;

    @Override
    DataKeys dataKeys() throws Exception {
        vault = new VaultTransitStandIn("test-token");
        return new VaultTransitDataKeys(VaultClient.builder()
                .baseUrl(vault.url())
                .executor(new JDKVaultHttpClient(HttpClient.newHttpClient()))
                .clientToken("test-token")
                .build());
    }

    @AfterEach
    void stop() {
        if (vault != null) {
            vault.close();
            assertEquals(List.of(), vault.unhandled(), "every call the client made was understood");
        }
    }
}
