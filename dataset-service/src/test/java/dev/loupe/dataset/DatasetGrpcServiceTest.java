package dev.loupe.dataset;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.junit.QuarkusTest;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.common.v1.PageRequest;
import dev.loupe.contracts.dataset.v1.CreateDatasetRequest;
import dev.loupe.contracts.dataset.v1.CreateDatasetResponse;
import dev.loupe.contracts.dataset.v1.Dataset;
import dev.loupe.contracts.dataset.v1.DatasetServiceGrpc;
import dev.loupe.contracts.dataset.v1.DatasetServiceGrpc.DatasetServiceBlockingStub;
import dev.loupe.contracts.dataset.v1.DatasetServiceGrpc.DatasetServiceFutureStub;
import dev.loupe.contracts.dataset.v1.DeleteDatasetRequest;
import dev.loupe.contracts.dataset.v1.GetDatasetRequest;
import dev.loupe.contracts.dataset.v1.ListDatasetsRequest;
import dev.loupe.contracts.dataset.v1.ListDatasetsResponse;
import dev.loupe.support.error.GrpcProblems;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.support.testing.KeycloakTokens;

import static dev.loupe.support.testing.GrpcAuthenticationContract.assertFailsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The dataset slice on PostgreSQL, called over gRPC with real Keycloak tokens. */
@QuarkusTest
class DatasetGrpcServiceTest {
    @ConfigProperty(name = "quarkus.datasource.jdbc.url")
    String jdbcUrl;
    @ConfigProperty(name = "quarkus.datasource.username")
    String dbUser;
    @ConfigProperty(name = "quarkus.datasource.password")
    String dbPassword;

    private ManagedChannel channel;

    @BeforeEach
    void openChannel() {
        channel = TestClients.channel();
    }

    @AfterEach
    void closeChannel() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private DatasetServiceBlockingStub as(String username) {
        return TestClients.as(channel, username);
    }

    private static String uniqueName(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static CreateDatasetRequest create(String name) {
        return CreateDatasetRequest.newBuilder().setName(name).setDescription("chest x-rays").build();
    }

    private static ProblemException problemOf(StatusRuntimeException e) {
        return GrpcProblems.fromStatus(e);
    }

    @Test
    void createGetListDelete() {
        String name = uniqueName("xrays");
        CreateDatasetResponse created = as("acme-steward").createDataset(create(name));
        Dataset dataset = created.getDataset();
        assertFalse(created.getReplayed());
        assertEquals(name, dataset.getName());
        assertEquals("chest x-rays", dataset.getDescription());
        assertEquals("acme-steward", dataset.getCreatedBy().getUsername());
        assertTrue(dataset.getCreatedAt().getSeconds() > 0);

        assertEquals(dataset, as("acme-engineer").getDataset(GetDatasetRequest.newBuilder()
                .setDatasetId(dataset.getId())
                .build()));
        assertTrue(allDatasets("acme-compliance").contains(dataset));

        as("acme-admin").deleteDataset(DeleteDatasetRequest.newBuilder().setDatasetId(dataset.getId()).build());
        assertFailsWith(Status.Code.NOT_FOUND, () -> as("acme-steward")
                .getDataset(GetDatasetRequest.newBuilder().setDatasetId(dataset.getId()).build()));
        assertFalse(allDatasets("acme-steward").contains(dataset));
    }

    @Test
    void anotherTenantSeesNothing() {
        Dataset dataset = as("acme-steward").createDataset(create(uniqueName("acme-only"))).getDataset();
        GetDatasetRequest get = GetDatasetRequest.newBuilder().setDatasetId(dataset.getId()).build();

        StatusRuntimeException foreign = assertFailsWith(Status.Code.NOT_FOUND,
                () -> as("globex-steward").getDataset(get));
        StatusRuntimeException missing = assertFailsWith(Status.Code.NOT_FOUND, () -> as("globex-steward")
                .getDataset(GetDatasetRequest.newBuilder().setDatasetId(UUID.randomUUID().toString()).build()));
        // Another tenant's id and an id that never existed are indistinguishable, message included.
        assertEquals(missing.getStatus().getDescription().replaceAll("[0-9a-f-]{36}", "ID"),
                foreign.getStatus().getDescription().replaceAll("[0-9a-f-]{36}", "ID"));
        assertFalse(allDatasets("globex-admin").stream().anyMatch(d -> d.getId().equals(dataset.getId())));
        assertFailsWith(Status.Code.NOT_FOUND, () -> as("globex-steward")
                .deleteDataset(DeleteDatasetRequest.newBuilder().setDatasetId(dataset.getId()).build()));

        assertEquals(dataset, as("acme-steward").getDataset(get), "the failed foreign delete changed nothing");
        // The same name is free in another tenant.
        as("globex-steward").createDataset(create(dataset.getName()));
    }

    @Test
    void invalidRequestsNameTheFieldAndChangeNothing() {
        int before = allDatasets("acme-steward").size();
        ProblemException badName = problemOf(assertFailsWith(Status.Code.INVALID_ARGUMENT,
                () -> as("acme-steward").createDataset(create("no spaces allowed"))));
        assertEquals(ProblemType.INVALID_REQUEST, badName.type());
        assertEquals("name", badName.field().orElseThrow());

        ProblemException noName = problemOf(assertFailsWith(Status.Code.INVALID_ARGUMENT,
                () -> as("acme-steward").createDataset(create(""))));
        assertEquals("name", noName.field().orElseThrow());

        ProblemException longDescription = problemOf(assertFailsWith(Status.Code.INVALID_ARGUMENT,
                () -> as("acme-steward").createDataset(create(uniqueName("long")).toBuilder()
                        .setDescription("x".repeat(2001))
                        .build())));
        assertEquals("description", longDescription.field().orElseThrow());

        ProblemException badLimit = problemOf(assertFailsWith(Status.Code.INVALID_ARGUMENT,
                () -> as("acme-steward").listDatasets(ListDatasetsRequest.newBuilder()
                        .setPage(PageRequest.newBuilder().setLimit(101))
                        .build())));
        assertEquals("limit", badLimit.field().orElseThrow());

        ProblemException badCursor = problemOf(assertFailsWith(Status.Code.INVALID_ARGUMENT,
                () -> as("acme-steward").listDatasets(ListDatasetsRequest.newBuilder()
                        .setPage(PageRequest.newBuilder().setAfter("not-a-cursor"))
                        .build())));
        assertEquals("after", badCursor.field().orElseThrow());

        assertEquals(before, allDatasets("acme-steward").size());
    }

    @Test
    void duplicateNameIsAlreadyExists() {
        String name = uniqueName("dup");
        as("acme-steward").createDataset(create(name));
        ProblemException duplicate = problemOf(assertFailsWith(Status.Code.ALREADY_EXISTS,
                () -> as("acme-admin").createDataset(create(name))));
        assertEquals("name", duplicate.field().orElseThrow());
    }

    @Test
    void idempotencyKeyReplaysTheFirstResult() {
        String key = UUID.randomUUID().toString();
        CreateDatasetRequest request = create(uniqueName("idem")).toBuilder().setIdempotencyKey(key).build();
        CreateDatasetResponse first = as("acme-steward").createDataset(request);
        CreateDatasetResponse retry = as("acme-steward").createDataset(request);
        assertFalse(first.getReplayed());
        assertTrue(retry.getReplayed());
        assertEquals(first.getDataset(), retry.getDataset());

        ProblemException reused = problemOf(assertFailsWith(Status.Code.FAILED_PRECONDITION,
                () -> as("acme-steward").createDataset(request.toBuilder().setName(uniqueName("other")).build())));
        assertEquals(ProblemType.IDEMPOTENCY_KEY_REUSED, reused.type());

        // Keys belong to a tenant: globex using the same key creates its own dataset.
        CreateDatasetResponse globex = as("globex-steward").createDataset(request);
        assertFalse(globex.getReplayed());
    }

    @Test
    void expiredIdempotencyKeyStartsANewRequest() throws Exception {
        String key = UUID.randomUUID().toString();
        CreateDatasetRequest first = create(uniqueName("old")).toBuilder().setIdempotencyKey(key).build();
        String firstId = as("acme-steward").createDataset(first).getDataset().getId();
        // Age the key past the retention (24 hours by default) instead of waiting for it.
        try (Connection connection = DriverManager.getConnection(jdbcUrl, dbUser, dbPassword);
                PreparedStatement age = connection.prepareStatement(
                        "UPDATE idempotency_key SET created_at = now() - interval '2 days' WHERE key = ?")) {
            age.setString(1, key);
            assertEquals(1, age.executeUpdate());
        }
        CreateDatasetResponse second = as("acme-steward")
                .createDataset(first.toBuilder().setName(uniqueName("new")).build());
        assertFalse(second.getReplayed());
        assertNotEquals(firstId, second.getDataset().getId());
        // The key now belongs to the second request.
        assertTrue(as("acme-steward")
                .createDataset(first.toBuilder().setName(second.getDataset().getName()).build())
                .getReplayed());
    }

    @Test
    void concurrentRetriesWithOneIdempotencyKeyCreateOneDataset() throws Exception {
        CreateDatasetRequest request = create(uniqueName("race")).toBuilder()
                .setIdempotencyKey(UUID.randomUUID().toString())
                .build();
        DatasetServiceFutureStub stub = DatasetServiceGrpc.newFutureStub(channel)
                .withCallCredentials(new BearerCallCredentials(KeycloakTokens.accessToken("acme-steward"), null))
                .withDeadlineAfter(20, TimeUnit.SECONDS);
        List<ListenableFuture<CreateDatasetResponse>> calls = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            calls.add(stub.createDataset(request));
        }
        List<CreateDatasetResponse> responses = Futures.allAsList(calls).get(30, TimeUnit.SECONDS);
        assertEquals(1, responses.stream().map(r -> r.getDataset().getId()).distinct().count());
        assertEquals(1, responses.stream().filter(r -> !r.getReplayed()).count(), "exactly one created it");
    }

    @Test
    void paginationWalksEveryDatasetOnceInCreationOrder() {
        List<String> created = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            created.add(as("acme-steward").createDataset(create(uniqueName("page" + i))).getDataset().getId());
        }
        List<String> seen = new ArrayList<>();
        String after = "";
        boolean hasMore = true;
        while (hasMore) {
            ListDatasetsResponse page = as("acme-steward").listDatasets(ListDatasetsRequest.newBuilder()
                    .setPage(PageRequest.newBuilder().setLimit(2).setAfter(after))
                    .build());
            assertTrue(page.getDatasetsCount() <= 2);
            page.getDatasetsList().forEach(d -> seen.add(d.getId()));
            hasMore = page.getPage().getHasMore();
            after = page.getPage().getNextAfter();
            assertEquals(hasMore, !after.isEmpty());
        }
        assertEquals(seen.stream().distinct().count(), seen.size(), "no dataset appears twice");
        List<String> ours = seen.stream().filter(created::contains).toList();
        assertEquals(created, ours, "all created datasets, in creation order");
    }

    @Test
    void rolesOutsideTheMatrixAreDenied() {
        assertFailsWith(Status.Code.PERMISSION_DENIED,
                () -> as("acme-engineer").createDataset(create(uniqueName("engineer"))));
        assertFailsWith(Status.Code.PERMISSION_DENIED,
                () -> as("acme-app").listDatasets(ListDatasetsRequest.getDefaultInstance()));
        assertFailsWith(Status.Code.PERMISSION_DENIED,
                () -> as("platform-ops").listDatasets(ListDatasetsRequest.getDefaultInstance()));
    }

    private List<Dataset> allDatasets(String username) {
        List<Dataset> all = new ArrayList<>();
        String after = "";
        do {
            ListDatasetsResponse page = as(username).listDatasets(ListDatasetsRequest.newBuilder()
                    .setPage(PageRequest.newBuilder().setLimit(100).setAfter(after))
                    .build());
            all.addAll(page.getDatasetsList());
            after = page.getPage().getNextAfter();
        } while (!after.isEmpty());
        return all;
    }
}
