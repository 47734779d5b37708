package dev.loupe.system;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import io.restassured.response.Response;
import org.junit.jupiter.api.Test;

import dev.loupe.audit.verifier.PackVerification;
import dev.loupe.audit.verifier.VerifyEvidencePack;

import static dev.loupe.system.Gateway.as;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.matchesPattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The compliance officer's view of the whole stack: changes in the dataset-service and refusals at the gateway
 * reach the tenant's chain through the outbox and the denied-request queue; the chain verifies; an export
 * verifies offline.
 */
class AuditTrailIT {
    private static final Duration DELIVERY = Duration.ofSeconds(30);

    /** The officer's events about one resource, once they arrived (the relays run every second). */
    static List<String> actionsAbout(String officer, String resourceId, int expected) throws InterruptedException {
        Instant deadline = Instant.now().plus(DELIVERY);
        List<String> actions;
        do {
            actions = as(officer).queryParam("resource_id", resourceId)
                    .get("/v1/audit/events")
                    .then()
                    .statusCode(200)
                    .extract()
                    .path("data.action");
            if (actions.size() >= expected) {
                return actions;
            }
            Thread.sleep(250);
        } while (Instant.now().isBefore(deadline));
        return actions;
    }

    @Test
    void datasetChangesReachTheTenantsChainOnly() throws Exception {
        String id = Gateway.createDataset("acme-steward", Gateway.uniqueName("audited"));
        as("acme-admin").delete("/v1/datasets/" + id).then().statusCode(204);

        // The deletion, then the destruction of the dataset's key that crypto-shreds what was stored.
        assertEquals(List.of("dataset.created", "dataset.deleted", "dataset.key.destroyed"),
                actionsAbout("acme-compliance", id, 3));
        Response created = as("acme-compliance").queryParam("resource_id", id)
                .queryParam("action_prefix", "dataset.created")
                .get("/v1/audit/events");
        created.then()
                .statusCode(200)
                .body("data[0].actor.username_hash", matchesPattern("v\\d+:[0-9a-f]{64}"))
                .body("data[0].resource.type", equalTo("dataset"))
                .body("data[0].outcome", equalTo("success"))
                .body("data[0].source", equalTo("dataset-service"));
        assertEquals(List.of(), actionsAbout("globex-compliance", id, 0));
        // The trail keeps the username's keyed hash only, yet the officer finds the steward's entries by name.
        as("acme-compliance").queryParam("resource_id", id)
                .queryParam("actor", "acme-steward")
                .get("/v1/audit/events")
                .then()
                .statusCode(200)
                .body("data.action", equalTo(List.of("dataset.created")));
    }

    @Test
    void refusedRequestsAreRecordedAsAuthDenied() throws Exception {
        Instant before = Instant.now();
        as("acme-engineer").get("/v1/audit/events").then().statusCode(403);
        Instant deadline = Instant.now().plus(DELIVERY);
        List<String> denied;
        do {
            denied = as("acme-compliance").queryParam("action_prefix", "auth.denied")
                    .queryParam("actor", "acme-engineer")
                    .queryParam("from", before.toString())
                    .get("/v1/audit/events")
                    .then()
                    .statusCode(200)
                    .extract()
                    .path("data.resource.id");
            Thread.sleep(250);
        } while (denied.isEmpty() && Instant.now().isBefore(deadline));
        assertEquals(List.of("GET /v1/audit/events"), denied);
    }

    @Test
    void theChainVerifiesAndAnExportVerifiesOffline() throws Exception {
        Gateway.createDataset("globex-steward", Gateway.uniqueName("exported"));
        as("globex-compliance").get("/v1/audit/verify").then().statusCode(200).body("valid", equalTo(true));
        as("globex-compliance").queryParam("tenant", "acme").get("/v1/audit/verify").then().statusCode(404);
        as("globex-compliance").queryParam("from_seq", "x").get("/v1/audit/verify").then().statusCode(400)
                .body("field", equalTo("from_seq"));

        byte[] zip = as("globex-compliance").get("/v1/audit/export")
                .then()
                .statusCode(200)
                .contentType("application/zip")
                .extract()
                .asByteArray();
        Path pack = Files.createTempFile("evidence-", ".zip");
        try {
            Files.write(pack, zip);
            PackVerification verification = VerifyEvidencePack.verify(pack, List.of());
            assertTrue(verification.valid(), verification.report());
            assertEquals("globex", verification.manifest().chain());
        } finally {
            Files.deleteIfExists(pack);
        }
        as("globex-compliance").queryParam("from", "2001-01-01T00:00:00Z")
                .queryParam("to", "2001-01-02T00:00:00Z")
                .get("/v1/audit/export")
                .then()
                .statusCode(404)
                .contentType("application/problem+json");
    }
}
