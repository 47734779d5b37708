package dev.loupe.governance;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.common.v1.PageRequest;
import dev.loupe.contracts.governance.v1.AppendEventsRequest;
import dev.loupe.contracts.governance.v1.AppendEventsResponse;
import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.contracts.governance.v1.AuditServiceGrpc;
import dev.loupe.contracts.governance.v1.AuditServiceGrpc.AuditServiceBlockingStub;
import dev.loupe.contracts.governance.v1.ChainEntry;
import dev.loupe.contracts.governance.v1.ListEventsRequest;
import dev.loupe.contracts.governance.v1.ListEventsResponse;
import dev.loupe.contracts.governance.v1.ResourceRef;
import dev.loupe.contracts.governance.v1.VerifyChainRequest;
import dev.loupe.contracts.governance.v1.VerifyChainResponse;
import dev.loupe.support.error.GrpcProblems;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.support.testing.KeycloakTokens;

import static dev.loupe.support.testing.GrpcAuthenticationContract.assertFailsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
        // The five events, and the record of the first verification itself.
        assertEquals(before + 5 + 1, verification.getChecked());
    }

    @Test
    void aBadEventRefusesTheBatchNamingTheField() {
        long before = verify("globex-compliance").getChecked();
        List<AuditEvent> events = List.of(AuditEventsFixture.event("globex", 1),
                AuditEventsFixture.event("globex", 2).toBuilder().setAction("Not A Dotted Name").build());
        var problem = GrpcProblems.fromStatus(assertFailsWith(Status.Code.INVALID_ARGUMENT,
                () -> asService().appendEvents(AppendEventsRequest.newBuilder().addAllEvents(events).build())));
        assertEquals("events[1].action", problem.field().orElseThrow());
        assertEquals(before + 1, verify("globex-compliance").getChecked(),
                "nothing of the batch was appended, only the record of the first verification");
    }

    private ListEventsResponse list(String user, ListEventsRequest request) {
        return withToken(KeycloakTokens.accessToken(user)).listEvents(request);
    }

    @Test
    void officersListTheirTenantsEventsFilteredAndPaged() {
        String resourceId = "ds-" + UUID.randomUUID();
        List<AuditEvent> events = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            events.add(AuditEventsFixture.event("acme", i).toBuilder()
                    .setResource(ResourceRef.newBuilder().setType("dataset").setId(resourceId))
                    .setAction(i == 4 ? "dataset.deleted" : "dataset.image.read")
                    .build());
        }
        asService().appendEvents(AppendEventsRequest.newBuilder().addAllEvents(events).build());
        ListEventsRequest byResource = ListEventsRequest.newBuilder()
                .setResource(ResourceRef.newBuilder().setId(resourceId))
                .setPage(PageRequest.newBuilder().setLimit(2))
                .build();

        ListEventsResponse first = list("acme-compliance", byResource);
        assertEquals(2, first.getEntriesCount());
        assertTrue(first.getPage().getHasMore());
        ListEventsResponse second = list("acme-compliance", byResource.toBuilder()
                .setPage(PageRequest.newBuilder().setLimit(2).setAfter(first.getPage().getNextAfter()))
                .build());
        ListEventsResponse third = list("acme-compliance", byResource.toBuilder()
                .setPage(PageRequest.newBuilder().setLimit(2).setAfter(second.getPage().getNextAfter()))
                .build());
        assertEquals(1, third.getEntriesCount());
        assertFalse(third.getPage().getHasMore());
        List<String> ids = new ArrayList<>();
        for (ListEventsResponse page : List.of(first, second, third)) {
            page.getEntriesList().forEach(entry -> ids.add(entry.getEvent().getEventId()));
        }
        assertEquals(events.stream().map(AuditEvent::getEventId).toList(), ids, "oldest first, each once");
        ChainEntry entry = first.getEntries(0);
        assertEquals(events.get(0).getDetails(), entry.getEvent().getDetails());
        assertEquals(64, entry.getHash().length());

        ListEventsResponse newest = list("acme-compliance", byResource.toBuilder()
                .setNewestFirst(true)
                .setActionPrefix("dataset.image.")
                .setActor("user-3")
                .build());
        assertEquals(List.of(events.get(3).getEventId()),
                newest.getEntriesList().stream().map(e -> e.getEvent().getEventId()).toList());

        // Another tenant's officer finds none of it.
        assertEquals(0, list("globex-compliance", byResource).getEntriesCount());
        // Reading the trail is itself recorded.
        ListEventsResponse reads = list("acme-compliance", ListEventsRequest.newBuilder()
                .setActionPrefix("audit.events.read")
                .setNewestFirst(true)
                .setPage(PageRequest.newBuilder().setLimit(1))
                .build());
        assertEquals("", reads.getEntries(0).getEvent().getActor().getActor().getUsername(), "no name in clear");
        // Found by the officer's username (this listing is recorded too, as the newest read).
        assertEquals(reads.getEntries(0).getSeq(), list("acme-compliance", ListEventsRequest.newBuilder()
                .setActor("acme-compliance")
                .setActionPrefix("audit.events.read")
                .setNewestFirst(true)
                .build()).getEntries(1).getSeq());
    }

    @Test
    void badPagingIsRefusedNamingTheField() {
        var problem = GrpcProblems.fromStatus(assertFailsWith(Status.Code.INVALID_ARGUMENT,
                () -> list("acme-compliance", ListEventsRequest.newBuilder()
                        .setPage(PageRequest.newBuilder().setLimit(101))
                        .build())));
        assertEquals("limit", problem.field().orElseThrow());
        problem = GrpcProblems.fromStatus(assertFailsWith(Status.Code.INVALID_ARGUMENT,
                () -> list("acme-compliance", ListEventsRequest.newBuilder()
                        .setPage(PageRequest.newBuilder().setAfter("abc"))
                        .build())));
        assertEquals("after", problem.field().orElseThrow());
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
        for (String user : List.of("acme-steward", "acme-admin", "acme-engineer", "platform-ops")) {
            assertFailsWith(Status.Code.PERMISSION_DENIED,
                    () -> list(user, ListEventsRequest.getDefaultInstance()));
        }
    }
}
