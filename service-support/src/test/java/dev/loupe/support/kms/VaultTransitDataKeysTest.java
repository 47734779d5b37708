package dev.loupe.support.kms;

import java.net.http.HttpClient;
import java.util.List;
import java.util.concurrent.CompletionException;

import io.quarkus.vault.client.VaultClient;
import io.quarkus.vault.client.VaultClientException;
import io.quarkus.vault.client.api.secrets.transit.VaultSecretsTransit;
import io.quarkus.vault.client.api.secrets.transit.VaultSecretsTransitCreateKeyParams;
import io.quarkus.vault.client.api.secrets.transit.VaultSecretsTransitKeyInfo;
import io.quarkus.vault.client.api.secrets.transit.VaultSecretsTransitKeyType;
import io.quarkus.vault.client.http.jdk.JDKVaultHttpClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import dev.loupe.support.testing.VaultTransitStandIn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Vault provider through quarkus-vault's own client, against the transit stand-in (no Vault server can run
 * where Loupe is built).
 */
class VaultTransitDataKeysTest extends DataKeysContract {
    private VaultTransitStandIn vault;

    @Override
    DataKeys dataKeys() throws Exception {
        vault = new VaultTransitStandIn("test-token");
        return new VaultTransitDataKeys(client("test-token"));
    }

    @AfterEach
    void stop() {
        if (vault != null) {
            vault.close();
            assertEquals(List.of(), vault.unhandled(), "every call the client made was understood");
        }
    }

    @Test
    void keksAreNonExportableAesKeysAndWrappingsVaultsCiphertexts() throws Exception {
        DataKeys keys = dataKeys();
        DataKey key = keys.generate("dataset-acme-1");
        keys.generate("dataset-acme-1");

        assertTrue(key.wrapped().matches("vault:v1:[A-Za-z0-9+/]{80}"), key.wrapped());
        VaultSecretsTransitKeyInfo info = transit().readKey("dataset-acme-1").toCompletableFuture().join();
        assertEquals(VaultSecretsTransitKeyType.AES256_GCM96, info.getType());
        assertEquals(false, info.isExportable());
        // The KEK is looked up and created once; each later data key is one call.
        assertEquals(List.of("GET /v1/transit/keys/dataset-acme-1", "POST /v1/transit/keys/dataset-acme-1",
                "POST /v1/transit/datakey/plaintext/dataset-acme-1",
                "POST /v1/transit/datakey/plaintext/dataset-acme-1", "GET /v1/transit/keys/dataset-acme-1"),
                vault.requests().stream().filter(request -> request.contains(" /v1/transit/")).toList());
    }

    @Test
    void theMinimumDecryptionVersionIsSetInVault() throws Exception {
        DataKeys keys = dataKeys();
        keys.generate("dataset-acme-1");
        keys.rotate("dataset-acme-1");
        keys.setMinDecryptionVersion("dataset-acme-1", 2);

        assertEquals(2, transit().readKey("dataset-acme-1").toCompletableFuture().join().getMinDecryptionVersion());
    }

    @Test
    void aKekDestroyedByAnotherInstanceIsCreatedAfresh() throws Exception {
        DataKeys keys = dataKeys();
        DataKey before = keys.generate("dataset-acme-1");
        new VaultTransitDataKeys(client("test-token")).destroy("dataset-acme-1");

        // This instance still believes the KEK exists; Vault says it does not.
        DataKey after = keys.generate("dataset-acme-1");
        assertArrayEquals(after.plaintext(), keys.unwrap("dataset-acme-1", after.wrapped()));
        assertThrows(DataKeyUnavailableException.class, () -> keys.unwrap("dataset-acme-1", before.wrapped()));
    }

    @Test
    void vaultRefusesToDeleteAKekUntilDeletionIsAllowed() throws Exception {
        vault = new VaultTransitStandIn("test-token");
        transit().createKey("dataset-acme-1", new VaultSecretsTransitCreateKeyParams()
                .setType(VaultSecretsTransitKeyType.AES256_GCM96)).toCompletableFuture().join();

        VaultClientException refused = failure(() -> transit().deleteKey("dataset-acme-1").toCompletableFuture()
                .join());
        assertEquals(400, refused.getStatus());
        assertTrue(refused.hasErrorContaining("deletion is not allowed"), refused.toString());

        new VaultTransitDataKeys(client("test-token")).destroy("dataset-acme-1");
        VaultClientException gone = failure(() -> transit().readKey("dataset-acme-1").toCompletableFuture().join());
        assertEquals(404, gone.getStatus());
    }

    @Test
    void otherVaultErrorsAreNotTakenForLostData() throws Exception {
        DataKeys keys = dataKeys();
        DataKey key = keys.generate("dataset-acme-1");
        DataKeys wrongToken = new VaultTransitDataKeys(client("wrong-token"));

        VaultClientException error = assertThrows(VaultClientException.class,
                () -> wrongToken.unwrap("dataset-acme-1", key.wrapped()));
        assertEquals(403, error.getStatus());
        assertThrows(VaultClientException.class, () -> wrongToken.rewrap("dataset-acme-1", key.wrapped()));
    }

    /** The Vault error that a call waited on failed with. */
    private static VaultClientException failure(Executable call) {
        CompletionException error = assertThrows(CompletionException.class, call);
        return assertInstanceOf(VaultClientException.class, error.getCause());
    }

    private VaultSecretsTransit transit() {
        return client("test-token").secrets().transit();
    }

    private VaultClient client(String token) {
        return VaultClient.builder()
                .baseUrl(vault.url())
                .executor(new JDKVaultHttpClient(HttpClient.newHttpClient()))
                .clientToken(token)
                .build();
    }
}
