package dev.loupe.governance;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import jakarta.inject.Inject;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import dev.loupe.audit.AuditEntry;
import dev.loupe.audit.Checkpoint;
import dev.loupe.audit.Verification;
import dev.loupe.governance.repository.AuditChainRepository.EventFilter;
import dev.loupe.governance.service.AuditChainService;
import dev.loupe.governance.service.AuditPseudonyms;
import dev.loupe.governance.service.CheckpointService;
import dev.loupe.support.kms.SigningKeys;
import dev.loupe.support.testing.VaultTransitStandIn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checkpoints signed through Vault transit ({@code loupe.kms.provider=vault}) by the quarkus-vault client, against
 * the transit stand-in (no Vault server can run where Loupe is built): signatures verify with the published keys
 * across a rotation, and tampering is still caught.
 */
@QuarkusTest
@TestProfile(VaultCheckpointSigningTest.VaultProfile.class)
class VaultCheckpointSigningTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    static final String TOKEN = "stand-in-token";

    @Inject
    SigningKeys keys;
    @Inject
    CheckpointService checkpoints;
    @Inject
    AuditChainService chains;

    public static class VaultProfile implements QuarkusTestProfile {
        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(StandInResource.class));
        }
    }

    public static class StandInResource implements QuarkusTestResourceLifecycleManager {
        static VaultTransitStandIn standIn;

        @Override
        public Map<String, String> start() {
            try {
                standIn = new VaultTransitStandIn(TOKEN);
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
            return Map.of("loupe.kms.provider", "vault", "quarkus.vault.url", standIn.url(),
                    "quarkus.vault.authentication.client-token", TOKEN);
        }

        @Override
        public void stop() {
            standIn.close();
        }
    }

    @Test
    void checkpointsAreSignedByVaultAndVerifyAcrossARotation() {
        String chain = AuditEventsFixture.freshTenant();
        chains.append(AuditEventsFixture.storedEvents(chain, 5)).await().atMost(WAIT);
        Checkpoint first = checkpoints.checkpointHead(chain).orElseThrow();
        assertEquals("vault:audit-checkpoints:v1", first.keyId());

        assertEquals("vault:audit-checkpoints:v2", keys.rotate("audit-checkpoints"));
        chains.append(AuditEventsFixture.storedEvents(chain, 5)).await().atMost(WAIT);
        Checkpoint second = checkpoints.checkpointHead(chain).orElseThrow();
        assertEquals("vault:audit-checkpoints:v2", second.keyId());

        Map<String, byte[]> published = checkpoints.publicKeys();
        assertEquals(2, published.size());
        assertTrue(first.signatureValid(published));
        assertTrue(second.signatureValid(published));
        Verification verification = chains.verify(chain, 0, 0).await().atMost(WAIT);
        assertTrue(verification.valid(), verification.toString());
        assertEquals(List.of(), StandInResource.standIn.unhandled(), "every call the client made was understood");
        assertTrue(StandInResource.standIn.requests().contains("POST /v1/transit/sign/audit-checkpoints"),
                StandInResource.standIn.requests().toString());
    }

    @Test
    void personalIdentifiersAreHashedByVault() {
        String chain = AuditEventsFixture.freshTenant();
        chains.append(AuditEventsFixture.storedEvents(chain, 3)).await().atMost(WAIT);

        List<AuditEntry> found = chains.search(chain, new EventFilter(null, null, null, chain + "-steward", List.of(),
                null, null, null), 0, false, 10).await().atMost(WAIT);
        assertEquals(3, found.size());
        assertTrue(found.get(0).event().actorUsernameHash().matches("v1:[0-9a-f]{64}"));
        assertTrue(StandInResource.standIn.requests().contains("POST /v1/transit/hmac/"
                + AuditPseudonyms.keyName(chain)), StandInResource.standIn.requests().toString());
        assertEquals(List.of(), StandInResource.standIn.unhandled());
    }

    @Test
    void aCheckpointForAnotherHashDoesNotVerifyWithVaultsKey() {
        String chain = AuditEventsFixture.freshTenant();
        chains.append(AuditEventsFixture.storedEvents(chain, 3)).await().atMost(WAIT);
        Checkpoint real = checkpoints.checkpointHead(chain).orElseThrow();
        Checkpoint forged = new Checkpoint(real.chain(), real.seq(), "f".repeat(64), real.signedAt(), real.keyId(),
                real.signature());
        assertTrue(real.signatureValid(checkpoints.publicKeys()));
        assertTrue(!forged.signatureValid(checkpoints.publicKeys()));
    }
}
