package dev.loupe.governance;

import java.util.List;
import java.util.concurrent.TimeUnit;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.governance.v1.AppendEventsRequest;
import dev.loupe.contracts.governance.v1.AppendEventsResponse;
import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.contracts.governance.v1.AuditServiceGrpc;
import dev.loupe.contracts.governance.v1.AuditServiceGrpc.AuditServiceBlockingStub;
import dev.loupe.contracts.governance.v1.VerifyChainRequest;
import dev.loupe.contracts.governance.v1.VerifyChainResponse;
import dev.loupe.support.error.GrpcProblems;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.support.testing.KeycloakTokens;

import static dev.loupe.support.testing.GrpcAuthenticationContract.assertFailsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Appending and verifying over gRPC, with a service account's and users' real tokens. */
@QuarkusTest
class AuditGrpcServiceTest {
    private ManagedChannel channel;

    @BeforeEach
    void openChannel() {
        channel = ManagedChannelBuilder.forAddress("localhost", 18084).usePlaintext().build();
    }

    @AfterEach
    void closeChannel() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private AuditServiceBlockingStub withToken(String token) {
        return AuditServiceGrpc.newBlockingStub(channel)
                .withCallCredentials(new BearerCallCredentials(token, null))
                .withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    private AuditServiceBlockingStub asService() {
        return withToken(KeycloakTokens.serviceToken("loupe-dataset-service"));
    }

    private VerifyChainResponse verify(String user) {
        return withToken(KeycloakTokens.accessToken(user)).verifyChain(VerifyChainRequest.getDefaultInstance());
    }

    @Test
    void eachEventIsAppendedOnceAndTheChainVerifies() {
        long before = verify("acme-compliance").getChecked();
        List<AuditEvent> events = AuditEventsFixture.events("acme", 5);
        AppendEventsResponse first = asService()
                .appendEvents(AppendEventsRequest.newBuilder().addAllEvents(events).build());
        assertEquals(5, first.getAppendedEventIdsCount());
        assertEquals(0, first.getDuplicateEventIdsCount());

        // A relay retrying the same batch (and repeating an event within it) appends nothing more.
        AppendEventsResponse retry = asService()
                .appendEvents(AppendEventsRequest.newBuilder().addAllEvents(events).addEvents(events.get(0)).build());
        assertEquals(0, retry.getAppendedEventIdsCount());
        assertEquals(6, retry.getDuplicateEventIdsCount());

        VerifyChainResponse verification = verify("acme-compliance");
        assertTrue(verification.getValid(), verification.toString());
        assertEquals(before + 5, verification.getChecked());
    }

    @Test
    void aBadEventRefusesTheBatchNamingTheField() {
        long before = verify("globex-compliance").getChecked();
        List<AuditEvent> events = List.of(AuditEventsFixture.event("globex", 1),
                AuditEventsFixture.event("globex", 2).toBuilder().setAction("Not A Dotted Name").build());
        var problem = GrpcProblems.fromStatus(assertFailsWith(Status.Code.INVALID_ARGUMENT,
                () -> asService().appendEvents(AppendEventsRequest.newBuilder().addAllEvents(events).build())));
        assertEquals("events[1].action", problem.field().orElseThrow());
        assertEquals(before, verify("globex-compliance").getChecked(), "nothing of the batch was appended");
    }

    @Test
    void onlyServicesAppendAndOnlyComplianceOfficersVerify() {
        AppendEventsRequest request = AppendEventsRequest.newBuilder()
                .addEvents(AuditEventsFixture.event("acme", 1))
                .build();
        for (String user : List.of("acme-steward", "acme-admin", "acme-compliance", "platform-ops")) {
            assertFailsWith(Status.Code.PERMISSION_DENIED,
                    () -> withToken(KeycloakTokens.accessToken(user)).appendEvents(request));
        }
        for (String user : List.of("acme-steward", "acme-admin", "acme-engineer", "platform-ops")) {
            assertFailsWith(Status.Code.PERMISSION_DENIED, () -> verify(user));
        }
        assertFailsWith(Status.Code.PERMISSION_DENIED,
                () -> asService().verifyChain(VerifyChainRequest.getDefaultInstance()));
    }
}
