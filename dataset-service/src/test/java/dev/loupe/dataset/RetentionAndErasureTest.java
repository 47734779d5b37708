package dev.loupe.dataset;

import java.awt.Color;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

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
import dev.loupe.contracts.dataset.v1.Dataset;
import dev.loupe.contracts.dataset.v1.DatasetServiceGrpc.DatasetServiceBlockingStub;
import dev.loupe.contracts.dataset.v1.DatasetVersion;
import dev.loupe.contracts.dataset.v1.DeleteDatasetRequest;
import dev.loupe.contracts.dataset.v1.DownloadImageRequest;
import dev.loupe.contracts.dataset.v1.EraseRecordsRequest;
import dev.loupe.contracts.dataset.v1.EraseRecordsResponse;
import dev.loupe.contracts.dataset.v1.GetDatasetRequest;
import dev.loupe.contracts.dataset.v1.GetVersionRequest;
import dev.loupe.contracts.dataset.v1.ImageChunk;
import dev.loupe.contracts.dataset.v1.ImportFormat;
import dev.loupe.contracts.dataset.v1.ImportMode;
import dev.loupe.contracts.dataset.v1.ListRecordsRequest;
import dev.loupe.contracts.dataset.v1.PlaceLegalHoldRequest;
import dev.loupe.contracts.dataset.v1.Record;
import dev.loupe.contracts.dataset.v1.ReleaseLegalHoldRequest;
import dev.loupe.contracts.dataset.v1.RotateDatasetKeyRequest;
import dev.loupe.contracts.dataset.v1.RotateDatasetKeyResponse;
import dev.loupe.contracts.dataset.v1.SetRetentionPolicyRequest;
import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.dataset.service.ImportService;
import dev.loupe.dataset.service.RetentionJob;
import dev.loupe.support.error.GrpcProblems;
import dev.loupe.support.kms.DataKeyUnavailableException;
import dev.loupe.support.kms.DataKeys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Retention policies and their scheduled enforcement, legal holds, key rotation with rewrap, and the erasure of
 * single records, each against PostgreSQL, the local KMS and the blob store, and each audited.
 */
@QuarkusTest
class RetentionAndErasureTest {
    @ConfigProperty(name = "quarkus.datasource.jdbc.url")
    String jdbcUrl;
    @ConfigProperty(name = "quarkus.datasource.username")
    String dbUser;
    @ConfigProperty(name = "quarkus.datasource.password")
    String dbPassword;
    @Inject
    DataKeys dataKeys;
    @Inject
    RetentionJob retentionJob;

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

    /** A dataset of acme with {@code count} records of one image each, in distinct colours. */
    private String datasetWithImages(int count) throws Exception {
        String dataset = as("acme-steward").createDataset(CreateDatasetRequest.newBuilder()
                .setName("retention-" + UUID.randomUUID().toString().substring(0, 8)).build()).getDataset().getId();
        Map<String, byte[]> images = new LinkedHashMap<>();
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < count; i++) {
            images.put("img/" + i + ".png", png(new Color(10 * i, 200 - 10 * i, 90)));
            lines.append("{\"images\": [\"img/").append(i).append(".png\"], \"messages\": [{\"role\": \"user\","
                    + " \"content\": \"<image>\\nWhat is this?\"}, {\"role\": \"assistant\", \"content\": \"Sample ")
                    .append(i).append(".\"}]}\n");
        }
        ImportUploads.upload(channel, "acme-steward", dataset, ImportFormat.IMPORT_FORMAT_LOUPE,
                ImportMode.IMPORT_MODE_ALL_OR_NOTHING, "", images, lines.toString());
        return dataset;
    }

    private static byte[] png(Color colour) throws IOException {
        return TestClients.png(colour, 8, 8);
    }

    private List<Record> records(String dataset, String version) {
        return as("acme-steward").listRecords(ListRecordsRequest.newBuilder().setDatasetId(dataset)
                .setVersionId(version).build()).getRecordsList();
    }

    private byte[] download(String dataset, String record) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        as("acme-steward").downloadImage(DownloadImageRequest.newBuilder().setDatasetId(dataset).setRecordId(record)
                .build()).forEachRemaining((ImageChunk chunk) -> bytes.writeBytes(chunk.getData().toByteArray()));
        return bytes.toByteArray();
    }

    /** The wrapped data keys of the dataset's images by record id: what a backup of the database holds. */
    private Map<String, String> wrappedKeys(String dataset) throws SQLException {
        Map<String, String> keys = new LinkedHashMap<>();
        try (Connection connection = DriverManager.getConnection(jdbcUrl, dbUser, dbPassword);
                PreparedStatement select = connection.prepareStatement("SELECT r.id, m.wrapped_key FROM record_image m"
                        + " JOIN dataset_record r ON r.id = m.record_id WHERE r.dataset_id = ?::uuid")) {
            select.setString(1, dataset);
            try (ResultSet rows = select.executeQuery()) {
                while (rows.next()) {
                    keys.put(rows.getString(1), rows.getString(2));
                }
            }
        }
        return keys;
    }

    private void sql(String statement, String dataset) throws SQLException {
        try (Connection connection = DriverManager.getConnection(jdbcUrl, dbUser, dbPassword);
                PreparedStatement update = connection.prepareStatement(statement)) {
            update.setString(1, dataset);
            update.executeUpdate();
        }
    }

    private List<AuditEvent> outboxEventsAbout(String resourceId) throws Exception {
        return TestClients.outboxEventsAbout(jdbcUrl, dbUser, dbPassword, resourceId);
    }

    private static void assertProblem(Status.Code code, String type, Runnable call) {
        StatusRuntimeException failure = assertThrows(StatusRuntimeException.class, call::run);
        assertEquals(code, failure.getStatus().getCode(), failure.getMessage());
        assertEquals(type, GrpcProblems.fromStatus(failure).type().slug(), failure.getMessage());
    }

    private String keyName(String dataset) {
        return ImportService.datasetKeyName("acme", UUID.fromString(dataset));
    }

    @Test
    void aLegalHoldBlocksDeletionForEveryRoleUntilReleased() throws Exception {
        String dataset = datasetWithImages(1);
        Dataset held = as("acme-compliance").placeLegalHold(PlaceLegalHoldRequest.newBuilder().setDatasetId(dataset)
                .setReason("Litigation 2026-114").build());
        assertEquals("Litigation 2026-114", held.getLegalHold().getReason());
        assertEquals("acme-compliance", held.getLegalHold().getPlacedBy().getUsername());
        assertProblem(Status.Code.FAILED_PRECONDITION, "conflict", () -> as("acme-steward").placeLegalHold(
                PlaceLegalHoldRequest.newBuilder().setDatasetId(dataset).setReason("again").build()));

        for (String user : List.of("acme-admin", "acme-steward")) {
            assertProblem(Status.Code.FAILED_PRECONDITION, "legal-hold", () -> as(user).deleteDataset(
                    DeleteDatasetRequest.newBuilder().setDatasetId(dataset).build()));
        }
        String record = records(dataset, "").get(0).getId();
        assertProblem(Status.Code.FAILED_PRECONDITION, "legal-hold", () -> as("acme-compliance").eraseRecords(
                EraseRecordsRequest.newBuilder().setDatasetId(dataset).addRecordIds(record).build()));
        assertEquals(1, records(dataset, "").size(), "nothing was deleted");
        assertEquals(32, dataKeys.unwrap(keyName(dataset), wrappedKeys(dataset).get(record)).length);
        // Another tenant cannot even see the dataset to release its hold.
        assertProblem(Status.Code.NOT_FOUND, "not-found", () -> as("globex-steward").releaseLegalHold(
                ReleaseLegalHoldRequest.newBuilder().setDatasetId(dataset).build()));

        Dataset released = as("acme-steward").releaseLegalHold(
                ReleaseLegalHoldRequest.newBuilder().setDatasetId(dataset).build());
        assertFalse(released.hasLegalHold());
        as("acme-admin").deleteDataset(DeleteDatasetRequest.newBuilder().setDatasetId(dataset).build());

        List<String> actions = outboxEventsAbout(dataset).stream()
                .map(event -> event.getAction() + ":" + event.getOutcome().name().replace("OUTCOME_", ""))
                .toList();
        assertEquals(List.of("dataset.created:SUCCESS", "dataset.imported:SUCCESS", "dataset.legal_hold.placed:SUCCESS",
                "dataset.deleted:DENIED", "dataset.deleted:DENIED", "dataset.records.erased:DENIED",
                "dataset.legal_hold.released:SUCCESS", "dataset.deleted:SUCCESS", "dataset.key.destroyed:SUCCESS"),
                actions);
    }

    @Test
    void anExpiredDatasetIsDeletedAndShreddedByTheRetentionJobUnlessHeld() throws Exception {
        String expiring = datasetWithImages(1);
        String heldBack = datasetWithImages(1);
        String kept = datasetWithImages(1);
        Map<String, String> backup = wrappedKeys(expiring);
        for (String dataset : List.of(expiring, heldBack, kept)) {
            Dataset set = as("acme-steward").setRetentionPolicy(SetRetentionPolicyRequest.newBuilder()
                    .setDatasetId(dataset).setMaxAgeDays(30).build());
            assertEquals(30, set.getRetentionMaxAgeDays());
            assertEquals(set.getCreatedAt().getSeconds() + 30 * 86_400, set.getExpiresAt().getSeconds());
        }
        assertProblem(Status.Code.INVALID_ARGUMENT, "invalid-request", () -> as("acme-steward").setRetentionPolicy(
                SetRetentionPolicyRequest.newBuilder().setDatasetId(kept).setMaxAgeDays(-1).build()));
        as("acme-compliance").placeLegalHold(PlaceLegalHoldRequest.newBuilder().setDatasetId(heldBack)
                .setReason("Audit").build());
        // Two of them were created 31 days ago.
        for (String dataset : List.of(expiring, heldBack)) {
            sql("UPDATE dataset SET created_at = created_at - interval '31 days' WHERE id = ?::uuid", dataset);
        }

        retentionJob.run();

        assertProblem(Status.Code.NOT_FOUND, "not-found", () -> as("acme-steward").getDataset(
                GetDatasetRequest.newBuilder().setDatasetId(expiring).build()));
        String keyName = keyName(expiring);
        for (String wrapped : backup.values()) {
            assertThrows(DataKeyUnavailableException.class, () -> dataKeys.unwrap(keyName, wrapped),
                    "a backup's wrapped key no longer unwraps: the KEK is destroyed");
        }
        assertEquals(List.of("dataset.expired", "dataset.key.destroyed"), outboxEventsAbout(expiring).stream()
                .map(AuditEvent::getAction).filter(action -> action.startsWith("dataset.e")
                        || action.startsWith("dataset.key"))
                .toList());
        AuditEvent expired = outboxEventsAbout(expiring).stream()
                .filter(event -> event.getAction().equals("dataset.expired")).findFirst().orElseThrow();
        assertEquals("dataset-service", expired.getActor().getActor().getService());
        assertEquals("acme", expired.getTenant());
        assertEquals(1, records(heldBack, "").size(), "a held dataset outlives its retention");
        assertEquals(1, records(kept, "").size(), "a dataset younger than its retention stays");

        // Released, the held dataset expires on the next run.
        as("acme-compliance").releaseLegalHold(ReleaseLegalHoldRequest.newBuilder().setDatasetId(heldBack).build());
        retentionJob.run();
        assertProblem(Status.Code.NOT_FOUND, "not-found", () -> as("acme-steward").getDataset(
                GetDatasetRequest.newBuilder().setDatasetId(heldBack).build()));
    }

    @Test
    void aShredThatACrashInterruptedIsFinishedByTheRetentionJob() throws Exception {
        String dataset = datasetWithImages(1);
        Map<String, String> backup = wrappedKeys(dataset);
        // What a crash between the deletion's commit and the KEK's destruction leaves: the row gone, the KEK not.
        sql("DELETE FROM dataset WHERE id = ?::uuid", dataset);
        sql("INSERT INTO dataset_shred (dataset_id, tenant, reason, requested_at) VALUES (?::uuid, 'acme', 'deleted',"
                + " now())", dataset);
        String wrapped = backup.values().iterator().next();
        assertEquals(32, dataKeys.unwrap(keyName(dataset), wrapped).length);

        retentionJob.run();

        assertThrows(DataKeyUnavailableException.class, () -> dataKeys.unwrap(keyName(dataset), wrapped));
        assertEquals(List.of("dataset.key.destroyed"), outboxEventsAbout(dataset).stream()
                .map(AuditEvent::getAction).filter(action -> action.startsWith("dataset.key")).toList());
    }

    @Test
    void rotatingAKeyRewrapsEveryImageAndRetiresTheOldVersion() throws Exception {
        String dataset = datasetWithImages(3);
        Map<String, String> before = wrappedKeys(dataset);
        List<Record> records = records(dataset, "");
        byte[] image = download(dataset, records.get(0).getId());

        RotateDatasetKeyResponse rotated = as("acme-steward").rotateDatasetKey(
                RotateDatasetKeyRequest.newBuilder().setDatasetId(dataset).build());

        assertEquals(2, rotated.getKeyVersion());
        assertEquals(3, rotated.getDataKeysRewrapped());
        assertTrue(rotated.getOlderVersionsDeleted());
        Map<String, String> after = wrappedKeys(dataset);
        for (String record : before.keySet()) {
            assertTrue(after.get(record).startsWith("local:v2:"), after.get(record));
            String old = before.get(record);
            assertThrows(DataKeyUnavailableException.class, () -> dataKeys.unwrap(keyName(dataset), old),
                    "a wrapping taken before the rotation no longer unwraps");
        }
        assertArrayEquals(image, download(dataset, records.get(0).getId()), "the images still read");
        assertProblem(Status.Code.PERMISSION_DENIED, "forbidden", () -> as("acme-engineer").rotateDatasetKey(
                RotateDatasetKeyRequest.newBuilder().setDatasetId(dataset).build()));
        assertEquals(Outcome.OUTCOME_SUCCESS, outboxEventsAbout(dataset).stream()
                .filter(event -> event.getAction().equals("dataset.key.rotated")).findFirst().orElseThrow()
                .getOutcome());
    }

    @Test
    void erasingARecordRemovesItEverywhereAndOldCopiesOfItsKeyNoLongerUnwrap() throws Exception {
        String dataset = datasetWithImages(4);
        DatasetVersion version = as("acme-steward").createVersion(CreateVersionRequest.newBuilder()
                .setDatasetId(dataset).setValidationFraction(0.25).setSplitSeed(3).build());
        List<Record> records = records(dataset, "");
        String erased = records.get(1).getId();
        String survivor = records.get(2).getId();
        byte[] survivorImage = download(dataset, survivor);
        Map<String, String> backup = wrappedKeys(dataset);
        assertProblem(Status.Code.PERMISSION_DENIED, "forbidden", () -> as("acme-steward").eraseRecords(
                EraseRecordsRequest.newBuilder().setDatasetId(dataset).addRecordIds(erased).build()));
        assertProblem(Status.Code.NOT_FOUND, "not-found", () -> as("acme-compliance").eraseRecords(
                EraseRecordsRequest.newBuilder().setDatasetId(dataset).addRecordIds(erased)
                        .addRecordIds(UUID.randomUUID().toString()).build()));
        assertEquals(4, records(dataset, "").size(), "an unknown id erases nothing");

        EraseRecordsResponse response = as("acme-compliance").eraseRecords(EraseRecordsRequest.newBuilder()
                .setDatasetId(dataset).addRecordIds(erased).setErasureRequestId("er-17").build());

        assertEquals(1, response.getRecordsErased());
        assertEquals(1, response.getImagesShredded());
        assertEquals(List.of(records.get(1).getRecordHash()), response.getRecordHashesList());
        assertEquals(3, records(dataset, "").size());
        assertFalse(records(dataset, version.getId()).stream().anyMatch(record -> record.getId().equals(erased)),
                "the version no longer serves it");
        DatasetVersion after = as("acme-steward").getVersion(GetVersionRequest.newBuilder().setDatasetId(dataset)
                .setVersionId(version.getId()).build());
        assertEquals(1, after.getErasedRecordCount());
        assertEquals(version.getManifestHash(), after.getManifestHash(), "the version still says what was frozen");
        assertEquals(3, as("acme-steward").getDataset(GetDatasetRequest.newBuilder().setDatasetId(dataset).build())
                .getRecordCount());
        // The key rotated: the erased record's wrapped key from a backup no longer unwraps; the others read on.
        assertThrows(DataKeyUnavailableException.class, () -> dataKeys.unwrap(keyName(dataset), backup.get(erased)));
        // Trimmed, not only retired: an operator lowering the minimum does not bring the old version back.
        assertThrows(IllegalArgumentException.class, () -> dataKeys.setMinDecryptionVersion(keyName(dataset), 1));
        assertThrows(DataKeyUnavailableException.class, () -> dataKeys.unwrap(keyName(dataset), backup.get(erased)));
        assertArrayEquals(survivorImage, download(dataset, survivor));
        List<String> actions = outboxEventsAbout(dataset).stream().map(AuditEvent::getAction).toList();
        assertTrue(actions.containsAll(List.of("dataset.records.erased", "dataset.key.rotated")), actions.toString());
        AuditEvent event = outboxEventsAbout(dataset).stream()
                .filter(e -> e.getAction().equals("dataset.records.erased")).findFirst().orElseThrow();
        assertEquals("er-17", event.getDetails().getFieldsOrThrow("erasure_request_id").getStringValue());
    }

    @Test
    void anotherTenantCanChangeNothingOfADataset() throws Exception {
        String dataset = datasetWithImages(1);
        assertProblem(Status.Code.NOT_FOUND, "not-found", () -> as("globex-steward").setRetentionPolicy(
                SetRetentionPolicyRequest.newBuilder().setDatasetId(dataset).setMaxAgeDays(1).build()));
        assertProblem(Status.Code.NOT_FOUND, "not-found", () -> as("globex-steward").placeLegalHold(
                PlaceLegalHoldRequest.newBuilder().setDatasetId(dataset).setReason("not theirs").build()));
        assertProblem(Status.Code.NOT_FOUND, "not-found", () -> as("globex-steward").rotateDatasetKey(
                RotateDatasetKeyRequest.newBuilder().setDatasetId(dataset).build()));
        String record = records(dataset, "").get(0).getId();
        assertProblem(Status.Code.NOT_FOUND, "not-found", () -> as("globex-compliance").eraseRecords(
                EraseRecordsRequest.newBuilder().setDatasetId(dataset).addRecordIds(record).build()));
        assertProblem(Status.Code.NOT_FOUND, "not-found", () -> as("globex-steward").deleteDataset(
                DeleteDatasetRequest.newBuilder().setDatasetId(dataset).build()));
        Dataset unchanged = as("acme-steward").getDataset(GetDatasetRequest.newBuilder().setDatasetId(dataset).build());
        assertEquals(0, unchanged.getRetentionMaxAgeDays());
        assertFalse(unchanged.hasLegalHold());
        assertEquals(1, unchanged.getRecordCount());
        assertTrue(wrappedKeys(dataset).values().iterator().next().startsWith("local:v1:"), "not rotated");
    }

    @Test
    void whileAnImportRunsTheOldVersionIsDeletedOnlyAfterwards() throws Exception {
        String dataset = datasetWithImages(2);
        Map<String, String> before = wrappedKeys(dataset);
        // An import whose records are in but whose image is not: it runs, waiting for it.
        var upload = ImportUploads.open(channel, "acme-steward", dataset, ImportFormat.IMPORT_FORMAT_LOUPE,
                ImportMode.IMPORT_MODE_ALL_OR_NOTHING, "{\"images\": [\"late.png\"], \"messages\": [{\"role\":"
                        + " \"user\", \"content\": \"<image>\\nLate?\"}, {\"role\": \"assistant\", \"content\":"
                        + " \"Yes.\"}]}\n");
        // The first image file completes the records file: the import starts, and waits for late.png.
        upload.sendImage("unrelated.png", png(Color.GRAY));
        String state = "";
        for (int attempt = 0; attempt < 100 && !state.equals("running"); attempt++) {
            Thread.sleep(50);
            try (Connection connection = DriverManager.getConnection(jdbcUrl, dbUser, dbPassword);
                    PreparedStatement select = connection.prepareStatement(
                            "SELECT state FROM dataset_import WHERE dataset_id = ?::uuid ORDER BY id DESC LIMIT 1")) {
                select.setString(1, dataset);
                try (ResultSet row = select.executeQuery()) {
                    state = row.next() ? row.getString(1) : "";
                }
            }
        }
        assertEquals("running", state);

        RotateDatasetKeyResponse rotated = as("acme-steward").rotateDatasetKey(
                RotateDatasetKeyRequest.newBuilder().setDatasetId(dataset).build());
        assertFalse(rotated.getOlderVersionsDeleted(), "an import runs: version 1 stays until it ends");
        String old = before.values().iterator().next();
        assertEquals(32, dataKeys.unwrap(keyName(dataset), old).length);

        upload.sendImage("late.png", png(Color.ORANGE));
        assertEquals(dev.loupe.contracts.dataset.v1.ImportState.IMPORT_STATE_SUCCEEDED, upload.finish().getState());
        retentionJob.run();

        assertThrows(DataKeyUnavailableException.class, () -> dataKeys.unwrap(keyName(dataset), old));
        assertEquals(3, records(dataset, "").size());
        for (Record record : records(dataset, "")) {
            assertTrue(download(dataset, record.getId()).length > 0, "every image still reads");
        }
        assertTrue(wrappedKeys(dataset).values().stream().allMatch(wrapped -> !wrapped.startsWith("local:v1:")));
    }
}
