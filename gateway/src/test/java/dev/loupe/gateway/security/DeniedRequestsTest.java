package dev.loupe.gateway.security;

import java.util.List;

import jakarta.inject.Inject;

import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.support.testing.KeycloakTokens;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Refused requests become auth.denied events: a 403 names the verified user and their tenant, a 401 trusts
 * nothing from the request. Delivery to the governance-service runs in system-tests; here the flush interval
 * is long, so the events stay queued for inspection.
 */
@QuarkusTest
class DeniedRequestsTest {
    @Inject
    DeniedRequests denied;

    private AuditEvent newest() {
        List<AuditEvent> pending = denied.pending();
        return pending.get(pending.size() - 1);
    }

    @Test
    void forbiddenRequestIsRecordedInTheUsersTenant() {
        int before = denied.pending().size();
        given().auth()
                .oauth2(KeycloakTokens.accessToken("acme-app"))
                .header("X-Request-Id", "req-denied-1")
                .get("/v1/datasets")
                .then()
                .statusCode(403);
        assertEquals(before + 1, denied.pending().size());
        AuditEvent event = newest();
        assertEquals("auth.denied", event.getAction());
        assertEquals("acme", event.getTenant());
        assertEquals("acme-app", event.getActor().getActor().getUsername());
        assertEquals(Outcome.OUTCOME_DENIED, event.getOutcome());
        assertEquals("GET /v1/datasets", event.getResource().getId());
        assertEquals("req-denied-1", event.getRequestId());
        assertEquals(403, event.getDetails().getFieldsOrThrow("status").getNumberValue());
    }

    @Test
    void unauthenticatedRequestGoesToThePlatformChainAsAnonymous() {
        given().auth().oauth2("not-a-token").delete("/v1/datasets/some-id").then().statusCode(401);
        AuditEvent event = newest();
        assertEquals("", event.getTenant());
        assertEquals("anonymous", event.getActor().getActor().getUserId());
        assertEquals("DELETE /v1/datasets/some-id", event.getResource().getId());
        assertEquals(401, event.getDetails().getFieldsOrThrow("status").getNumberValue());
    }
}
