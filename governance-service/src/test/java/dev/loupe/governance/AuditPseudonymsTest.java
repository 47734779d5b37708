package dev.loupe.governance;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;

import jakarta.inject.Inject;

import io.quarkus.test.junit.QuarkusTest;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

import dev.loupe.audit.AuditEntry;
import dev.loupe.audit.AuditEvent;
import dev.loupe.audit.Verification;
import dev.loupe.governance.repository.AuditChainRepository.EventFilter;
import dev.loupe.governance.service.AuditChainService;
import dev.loupe.governance.service.AuditPseudonyms;
import dev.loupe.support.kms.KeyedHashes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Usernames and client addresses never reach the trail in clear, yet a compliance officer finds a user's entries
 * by name and a client's by address.
 */
@QuarkusTest
class AuditPseudonymsTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @Inject
    AuditChainService chains;
    @Inject
    KeyedHashes keys;

    @ConfigProperty(name = "quarkus.datasource.jdbc.url")
    String url;
    @ConfigProperty(name = "quarkus.flyway.username")
    String ownerUser;
    @ConfigProperty(name = "quarkus.flyway.password")
    String ownerPassword;

    private static AuditEvent byUser(String tenant, String username, String onBehalfOf) {
        return new AuditEvent(UUID.randomUUID(), Instant.now().truncatedTo(ChronoUnit.MICROS), tenant,
                subject(username), username, onBehalfOf.isEmpty() ? "" : "loupe-training-service",
                onBehalfOf.isEmpty() ? "" : subject(onBehalfOf), onBehalfOf, "dataset.image.read", "record",
                "rec-1", "success", "req-1", "{}", "dataset-service");
    }

    /** A subject id as Keycloak issues them: nothing of the name in it. */
    private static String subject(String username) {
        return UUID.nameUUIDFromBytes(username.getBytes(StandardCharsets.UTF_8)).toString();
    }

    private List<AuditEntry> byActor(String chain, String actor) {
        return chains.search(chain, new EventFilter(null, null, null, actor, List.of(), null, null, null), 0,
                false, 100).await().atMost(WAIT);
    }

    /** Every stored column of a chain's entries as text, read past the service as a database owner would. */
    private String storedRows(String chain) throws Exception {
        StringBuilder rows = new StringBuilder();
        try (Connection connection = DriverManager.getConnection(url, ownerUser, ownerPassword);
                PreparedStatement select = connection.prepareStatement(
                        "SELECT audit_entry::text FROM audit_entry WHERE chain = ?")) {
            select.setString(1, chain);
            try (ResultSet result = select.executeQuery()) {
                while (result.next()) {
                    rows.append(result.getString(1)).append('\n');
                }
            }
        }
        return rows.toString();
    }

    @Test
    void usernamesAreStoredAsKeyedHashesAndFoundByName() throws Exception {
        String tenant = AuditEventsFixture.freshTenant();
        chains.append(List.of(byUser(tenant, "dr.alice.martin", ""), byUser(tenant, "bob", "dr.alice.martin"),
                byUser(tenant, "bob", ""))).await().atMost(WAIT);

        String stored = storedRows(tenant);
        assertFalse(stored.contains("alice"), stored);
        assertFalse(stored.contains("bob,"), stored);
        List<AuditEntry> all = byActor(tenant, "bob");
        assertEquals(2, all.size(), "bob acted twice");
        assertTrue(all.get(0).event().actorUsernameHash().matches("v1:[0-9a-f]{64}"));

        // Alice acted once and had a service act for her once; case does not matter, as in Keycloak.
        List<AuditEntry> alice = byActor(tenant, "Dr.Alice.Martin");
        assertEquals(List.of(1L, 2L), alice.stream().map(AuditEntry::seq).toList());
        assertEquals(alice.get(0).event().actorUsernameHash(), alice.get(1).event().onBehalfUsernameHash());
        // Ids are found as before.
        assertEquals(2, byActor(tenant, subject("bob")).size());
        assertEquals(0, byActor(tenant, "carol").size());

        Verification verification = chains.verify(tenant, 0, 0).await().atMost(WAIT);
        assertTrue(verification.valid(), verification.toString());
    }

    @Test
    void clientAddressesInDetailsAreStoredAsKeyedHashesAndFound() throws Exception {
        String tenant = AuditEventsFixture.freshTenant();
        AuditEvent denied = new AuditEvent(UUID.randomUUID(), Instant.now().truncatedTo(ChronoUnit.MICROS), tenant,
                subject("gina"), "gina", "", "", "", "auth.denied", "route", "GET /v1/audit/events", "denied",
                "req-2", "{\"client_address\":\"203.0.113.77\",\"method\":\"GET\",\"status\":403}", "gateway");
        chains.append(List.of(denied)).await().atMost(WAIT);

        assertFalse(storedRows(tenant).contains("203.0.113.77"));
        List<AuditEntry> found = byActor(tenant, "203.0.113.77");
        assertEquals(1, found.size());
        assertTrue(found.get(0).event().details().matches(
                "\\{\"client_address_hash\":\"v1:[0-9a-f]{64}\",\"method\":\"GET\",\"status\":403}"),
                found.get(0).event().details());
        assertTrue(chains.verify(tenant, 0, 0).await().atMost(WAIT).valid());
    }

    @Test
    void eachTenantHashesWithItsOwnKeyAndRotatedKeysStillFindOldEntries() {
        String acme = AuditEventsFixture.freshTenant();
        String globex = AuditEventsFixture.freshTenant();
        chains.append(List.of(byUser(acme, "erin", ""), byUser(globex, "erin", ""))).await().atMost(WAIT);
        String acmeHash = byActor(acme, "erin").get(0).event().actorUsernameHash();
        assertNotEquals(acmeHash, byActor(globex, "erin").get(0).event().actorUsernameHash(),
                "the same person is not linkable across tenants");

        assertEquals(2, keys.rotate(AuditPseudonyms.keyName(acme)));
        chains.append(List.of(byUser(acme, "frank", ""))).await().atMost(WAIT);

        assertTrue(byActor(acme, "frank").get(0).event().actorUsernameHash().startsWith("v2:"));
        assertEquals(List.of(acmeHash), byActor(acme, "erin").stream()
                .map(entry -> entry.event().actorUsernameHash()).toList(), "found under the old version");
    }
}
