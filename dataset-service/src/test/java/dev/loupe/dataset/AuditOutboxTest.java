package dev.loupe.dataset;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.dataset.v1.CreateDatasetRequest;
import dev.loupe.contracts.dataset.v1.DatasetServiceGrpc;
import dev.loupe.contracts.dataset.v1.DatasetServiceGrpc.DatasetServiceBlockingStub;
import dev.loupe.contracts.dataset.v1.DeleteDatasetRequest;
import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.support.audit.OutboxRelay;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.support.testing.KeycloakTokens;

import static dev.loupe.support.testing.GrpcAuthenticationContract.assertFailsWith;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every change writes its audit event into the outbox in the same transaction, and nothing else does; with
 * the governance-service unreachable (none runs beside these tests) the events wait and the service works on.
 */
@QuarkusTest
class AuditOutboxTest {
    @ConfigProperty(name = "quarkus.datasource.jdbc.url")
    String jdbcUrl;
    @ConfigProperty(name = "quarkus.datasource.username")
    String dbUser;
    @ConfigProperty(name = "quarkus.datasource.password")
    String dbPassword;
    @Inject
    OutboxRelay relay;

    private ManagedChannel channel;

    @BeforeEach
    void openChannel() {
        channel = TestClients.channel();
    }

    @AfterEach
    void closeChannel() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private DatasetServiceBlockingStub as(String username, String requestId) {
        return DatasetServiceGrpc.newBlockingStub(channel)
                .withCallCredentials(new BearerCallCredentials(KeycloakTokens.accessToken(username), requestId))
                .withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    /** The outbox's events about one resource, oldest first. */
    private List<AuditEvent> outboxEventsAbout(String resourceId) throws Exception {
        return TestClients.outboxEventsAbout(jdbcUrl, dbUser, dbPassword, resourceId);
    }

    @Test
    void createAndDeleteEachWriteOneEventWithTheirActorAndRequestId() throws Exception {
        String name = "outbox-" + UUID.randomUUID().toString().substring(0, 8);
        CreateDatasetRequest create = CreateDatasetRequest.newBuilder().setName(name).setIdempotencyKey(name).build();
        String id = as("acme-steward", "req-create-1").createDataset(create).getDataset().getId();
        // A replay changes nothing, so it records nothing; a refused duplicate name neither.
        as("acme-steward", "req-create-2").createDataset(create);
        assertFailsWith(Status.Code.ALREADY_EXISTS,
                () -> as("acme-steward", null).createDataset(create.toBuilder().setIdempotencyKey("").build()));
        as("acme-admin", "req-delete").deleteDataset(DeleteDatasetRequest.newBuilder().setDatasetId(id).build());

        List<AuditEvent> events = outboxEventsAbout(id);
        assertEquals(List.of("dataset.created", "dataset.deleted", "dataset.key.destroyed"),
                events.stream().map(AuditEvent::getAction).toList());
        AuditEvent created = events.get(0);
        assertEquals("acme", created.getTenant());
        assertEquals("acme-steward", created.getActor().getActor().getUsername());
        assertEquals("dataset", created.getResource().getType());
        assertEquals(Outcome.OUTCOME_SUCCESS, created.getOutcome());
        assertEquals("req-create-1", created.getRequestId());
        assertEquals(name, created.getDetails().getFieldsOrThrow("name").getStringValue());
        assertEquals("dataset-service", created.getSource());
        assertEquals("acme-admin", events.get(1).getActor().getActor().getUsername());
        assertEquals("req-delete", events.get(1).getRequestId());
    }

    @Test
    void withGovernanceDownEventsWaitAndReadinessShowsTheBacklog() throws Exception {
        String name = "outbox-" + UUID.randomUUID().toString().substring(0, 8);
        String id = as("globex-steward", null)
                .createDataset(CreateDatasetRequest.newBuilder().setName(name).build())
                .getDataset()
                .getId();
        // Nothing listens where the governance-service should be: delivery fails, nothing is deleted.
        assertThrows(RuntimeException.class, () -> relay.relayUntilEmpty().await().atMost(Duration.ofSeconds(30)));
        assertEquals(1, outboxEventsAbout(id).size());

        relay.relay().await().atMost(Duration.ofSeconds(30));
        assertTrue(relay.backlog().pending() >= 1, relay.backlog().toString());
        RestAssured.given()
                .port(18081)
                .get("/q/health/ready")
                .then()
                .statusCode(200)
                .body("checks.find { it.name == 'audit-outbox' }.status", equalTo("UP"));
    }
}
