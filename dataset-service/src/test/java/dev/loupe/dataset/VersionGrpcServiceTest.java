package dev.loupe.dataset;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.junit.QuarkusTest;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.dataset.v1.CreateDatasetRequest;
import dev.loupe.contracts.dataset.v1.CreateVersionRequest;
import dev.loupe.contracts.dataset.v1.DatasetServiceGrpc.DatasetServiceBlockingStub;
import dev.loupe.contracts.dataset.v1.DatasetVersion;
import dev.loupe.contracts.dataset.v1.GetVersionRequest;
import dev.loupe.contracts.dataset.v1.ImportFormat;
import dev.loupe.contracts.dataset.v1.ImportMode;
import dev.loupe.contracts.dataset.v1.ListVersionsRequest;
import dev.loupe.support.error.GrpcProblems;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Frozen versions: numbered, deterministic splits, a manifest hash, immutable, per tenant. */
@QuarkusTest
class VersionGrpcServiceTest {
    private static final int RECORDS = 40;

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

    private DatasetServiceBlockingStub as(String user) {
        return TestClients.as(channel, user);
    }

    /** A dataset of {@link #RECORDS} text-only records. */
    private String datasetWithRecords() throws Exception {
        String dataset = as("acme-steward").createDataset(CreateDatasetRequest.newBuilder()
                .setName("versions-" + UUID.randomUUID().toString().substring(0, 8)).build()).getDataset().getId();
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < RECORDS; i++) {
            lines.append("{\"messages\": [{\"role\": \"user\", \"content\": \"Question ").append(i)
                    .append("?\"}, {\"role\": \"assistant\", \"content\": \"Answer ").append(i).append(".\"}]}\n");
        }
        ImportUploads.upload(channel, "acme-steward", dataset, ImportFormat.IMPORT_FORMAT_LOUPE,
                ImportMode.IMPORT_MODE_ACCEPT_VALID, "", Map.of(), lines.toString());
        return dataset;
    }

    private DatasetVersion freeze(String dataset, double fraction, long seed, String key) {
        return as("acme-steward").createVersion(CreateVersionRequest.newBuilder()
                .setDatasetId(dataset)
                .setValidationFraction(fraction)
                .setSplitSeed(seed)
                .setIdempotencyKey(key)
                .build());
    }

    /** The records of a version's validation split, read with the database login. */
    private List<String> validationRecords(String versionId) throws SQLException {
        List<String> ids = new ArrayList<>();
        try (Connection connection = DriverManager.getConnection(jdbcUrl, dbUser, dbPassword);
                PreparedStatement select = connection.prepareStatement("SELECT record_id FROM version_record"
                        + " WHERE version_id = ?::uuid AND split = 'validation' ORDER BY record_id")) {
            select.setString(1, versionId);
            try (ResultSet rows = select.executeQuery()) {
                while (rows.next()) {
                    ids.add(rows.getString(1));
                }
            }
        }
        return ids;
    }

    @Test
    void versionsAreNumberedAndTheirSplitIsDeterministic() throws Exception {
        String dataset = datasetWithRecords();
        DatasetVersion first = freeze(dataset, 0.25, 7, "");
        DatasetVersion second = freeze(dataset, 0.25, 7, "");
        DatasetVersion reseeded = freeze(dataset, 0.25, 8, "");

        assertEquals(1, first.getNumber());
        assertEquals(2, second.getNumber());
        assertEquals(RECORDS, first.getRecordCount());
        assertEquals(RECORDS, first.getTrainCount() + first.getValidationCount());
        assertTrue(first.getValidationCount() > 2 && first.getValidationCount() < 20,
                "about a quarter: " + first.getValidationCount());
        assertTrue(first.getManifestHash().matches("[0-9a-f]{64}"));
        assertEquals(first.getManifestHash(), second.getManifestHash(), "same records, same seed: same manifest");
        assertEquals(validationRecords(first.getId()), validationRecords(second.getId()));
        assertNotEquals(validationRecords(first.getId()), validationRecords(reseeded.getId()));
        assertNotEquals(first.getManifestHash(), reseeded.getManifestHash(), "the manifest covers the split");

        assertEquals(first, as("acme-engineer").getVersion(GetVersionRequest.newBuilder()
                .setDatasetId(dataset).setVersionId(first.getId()).build()));
        assertEquals(List.of(1, 2, 3), as("acme-compliance").listVersions(ListVersionsRequest.newBuilder()
                .setDatasetId(dataset).build()).getVersionsList().stream().map(DatasetVersion::getNumber).toList());
    }

    @Test
    void anIdempotencyKeyFreezesOnceAndVersionsCannotBeChanged() throws Exception {
        String dataset = datasetWithRecords();
        String key = "freeze-" + UUID.randomUUID();
        DatasetVersion first = freeze(dataset, 0.1, 1, key);
        assertEquals(first.getId(), freeze(dataset, 0.1, 1, key).getId());

        try (Connection connection = DriverManager.getConnection(jdbcUrl, dbUser, dbPassword);
                PreparedStatement update = connection.prepareStatement(
                        "UPDATE version_record SET split = 'train' WHERE version_id = ?::uuid")) {
            update.setString(1, first.getId());
            SQLException refused = assertThrows(SQLException.class, update::executeUpdate);
            assertTrue(refused.getMessage().contains("immutable"), refused.getMessage());
        }
    }

    @Test
    void badRequestsAndOtherTenantsAreRefused() throws Exception {
        String dataset = datasetWithRecords();
        StatusRuntimeException tooLarge = assertThrows(StatusRuntimeException.class,
                () -> freeze(dataset, 0.7, 1, ""));
        assertEquals("validation_fraction", GrpcProblems.fromStatus(tooLarge).field().orElseThrow());

        String empty = as("acme-steward").createDataset(CreateDatasetRequest.newBuilder()
                .setName("empty-" + UUID.randomUUID().toString().substring(0, 8)).build()).getDataset().getId();
        StatusRuntimeException nothing = assertThrows(StatusRuntimeException.class, () -> freeze(empty, 0.1, 1, ""));
        assertEquals(Status.Code.FAILED_PRECONDITION, nothing.getStatus().getCode());

        DatasetVersion version = freeze(dataset, 0.1, 1, "");
        StatusRuntimeException foreign = assertThrows(StatusRuntimeException.class,
                () -> as("globex-steward").getVersion(GetVersionRequest.newBuilder()
                        .setDatasetId(dataset).setVersionId(version.getId()).build()));
        assertEquals(Status.Code.NOT_FOUND, foreign.getStatus().getCode());
        StatusRuntimeException engineer = assertThrows(StatusRuntimeException.class,
                () -> as("acme-engineer").createVersion(CreateVersionRequest.newBuilder().setDatasetId(dataset)
                        .build()));
        assertEquals(Status.Code.PERMISSION_DENIED, engineer.getStatus().getCode());
    }
}
