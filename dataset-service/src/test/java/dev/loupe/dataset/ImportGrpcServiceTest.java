package dev.loupe.dataset;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

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
import dev.loupe.contracts.dataset.v1.DatasetServiceGrpc.DatasetServiceBlockingStub;
import dev.loupe.contracts.dataset.v1.DeleteDatasetRequest;
import dev.loupe.contracts.dataset.v1.DownloadImageRequest;
import dev.loupe.contracts.dataset.v1.GetImportRequest;
import dev.loupe.contracts.dataset.v1.ImageChunk;
import dev.loupe.contracts.dataset.v1.Import;
import dev.loupe.contracts.dataset.v1.ImportFormat;
import dev.loupe.contracts.dataset.v1.ImportMode;
import dev.loupe.contracts.dataset.v1.ImportRejection;
import dev.loupe.contracts.dataset.v1.ImportState;
import dev.loupe.contracts.dataset.v1.ListImportRejectionsRequest;
import dev.loupe.contracts.dataset.v1.ListRecordsRequest;
import dev.loupe.contracts.dataset.v1.Record;
import dev.loupe.dataset.service.BlobSweeper;
import dev.loupe.dataset.service.ImportService;
import dev.loupe.dataset.storage.BlobStore;
import dev.loupe.support.kms.DataKeyUnavailableException;
import dev.loupe.support.kms.DataKeys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Imports over gRPC with real tokens, into PostgreSQL and the encrypted blob store, and the records read back. */
@QuarkusTest
class ImportGrpcServiceTest {
    private static final String NATIVE = "{\"images\": [\"scans/0042.png\"], \"messages\": ["
            + "{\"role\": \"user\", \"content\": \"<image>\\nWhat colour is this?\"},"
            + "{\"role\": \"assistant\", \"content\": \"Teal.\"}]}";
    private static final String OPENAI = "{\"messages\": [{\"role\": \"user\", \"content\": ["
            + "{\"type\": \"image_url\", \"image_url\": {\"url\": \"scans/0042.png\"}},"
            + "{\"type\": \"text\", \"text\": \"What colour is this?\"}]},"
            + "{\"role\": \"assistant\", \"content\": \"Teal.\"}]}";
    private static final String LLAVA = "[{\"image\": \"scans/0042.png\", \"conversations\": ["
            + "{\"from\": \"human\", \"value\": \"<image>\\nWhat colour is this?\"},"
            + "{\"from\": \"gpt\", \"value\": \"Teal.\"}]}]";
    /** A colour whose pixel run would show in a plaintext blob. */
    private static final Color TEAL = new Color(0x12, 0x80, 0x80);

    @ConfigProperty(name = "loupe.dataset.blobs.dir")
    Path blobDir;
    @ConfigProperty(name = "quarkus.datasource.jdbc.url")
    String jdbcUrl;
    @ConfigProperty(name = "quarkus.datasource.username")
    String dbUser;
    @ConfigProperty(name = "quarkus.datasource.password")
    String dbPassword;
    @Inject
    DataKeys dataKeys;
    @Inject
    BlobStore blobStore;
    @Inject
    BlobSweeper sweeper;

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

    private String newDataset(String user) {
        return as(user).createDataset(CreateDatasetRequest.newBuilder()
                .setName("imports-" + UUID.randomUUID().toString().substring(0, 8))
                .build()).getDataset().getId();
    }

    private Import importFile(String user, String datasetId, ImportFormat format, ImportMode mode, String key,
            Map<String, byte[]> images, String records) throws Exception {
        return ImportUploads.upload(channel, user, datasetId, format, mode, key, images, records);
    }

    private List<Record> records(String user, String datasetId) {
        return as(user).listRecords(ListRecordsRequest.newBuilder().setDatasetId(datasetId).build())
                .getRecordsList();
    }

    private byte[] download(String user, String datasetId, String recordId, int index) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        as(user).downloadImage(DownloadImageRequest.newBuilder()
                .setDatasetId(datasetId)
                .setRecordId(recordId)
                .setImageIndex(index)
                .build()).forEachRemaining((ImageChunk chunk) -> bytes.writeBytes(chunk.getData().toByteArray()));
        return bytes.toByteArray();
    }

    /** The dataset's stored blobs; files still being written (temporary, renamed when complete) do not count. */
    private List<Path> blobsOf(String datasetId) throws IOException {
        for (int attempt = 1;; attempt++) {
            try (Stream<Path> files = Files.walk(blobDir)) {
                return files.filter(Files::isRegularFile)
                        .filter(path -> path.toString().contains(datasetId))
                        .filter(path -> !path.getFileName().toString().endsWith(".tmp"))
                        .toList();
            } catch (java.io.UncheckedIOException e) {
                // A temporary file renamed (or removed) while the walk passed it: walk again.
                if (!(e.getCause() instanceof java.nio.file.NoSuchFileException) || attempt == 10) {
                    throw e;
                }
            }
        }
    }

    @Test
    void theThreeFormatsStoreOneEncryptedRecord() throws Exception {
        String dataset = newDataset("acme-steward");
        Map<String, byte[]> images = Map.of("scans/0042.png", TestClients.png(TEAL, 64, 48));

        Import first = importFile("acme-steward", dataset, ImportFormat.IMPORT_FORMAT_LOUPE,
                ImportMode.IMPORT_MODE_ACCEPT_VALID, "", images, NATIVE);
        assertEquals(ImportState.IMPORT_STATE_SUCCEEDED, first.getState(), first.toString());
        assertEquals(1, first.getRecordsAccepted());
        // The same logical record in the other formats is a duplicate of the stored one.
        for (Map.Entry<ImportFormat, String> other : Map.of(ImportFormat.IMPORT_FORMAT_OPENAI, OPENAI,
                ImportFormat.IMPORT_FORMAT_LLAVA, LLAVA).entrySet()) {
            Import again = importFile("acme-steward", dataset, other.getKey(), ImportMode.IMPORT_MODE_ACCEPT_VALID,
                    "", images, other.getValue());
            assertEquals(ImportState.IMPORT_STATE_SUCCEEDED, again.getState(), again.toString());
            assertEquals(0, again.getRecordsAccepted(), other.getKey().toString());
            assertEquals(1, again.getDuplicatesSkipped(), other.getKey().toString());
        }

        List<Record> stored = records("acme-engineer", dataset);
        assertEquals(1, stored.size());
        Record record = stored.get(0);
        assertEquals(List.of("user", "assistant"), record.getMessagesList().stream().map(m -> m.getRole()).toList());
        assertEquals("<image>\nWhat colour is this?", record.getMessages(0).getContent());
        assertEquals(64, record.getImages(0).getWidth());
        assertEquals("image/png", record.getImages(0).getMediaType());
        assertTrue(record.getImages(0).getContentHash().matches("v1:[0-9a-f]{64}"));

        // Read back decrypted: the same pixels.
        BufferedImage read = ImageIO.read(new ByteArrayInputStream(download("acme-engineer", dataset,
                record.getId(), 0)));
        assertEquals(48, read.getHeight());
        assertEquals(TEAL.getRGB(), read.getRGB(10, 10));

        // On disk nothing shows the image: no PNG or JPEG magic, no run of its pixels.
        List<Path> blobs = blobsOf(dataset);
        assertEquals(1, blobs.size());
        byte[] onDisk = Files.readAllBytes(blobs.get(0));
        assertFalse(contains(onDisk, new byte[]{(byte) 0x89, 'P', 'N', 'G'}));
        assertFalse(contains(onDisk, new byte[]{(byte) 0xFF, (byte) 0xD8, (byte) 0xFF}));
        assertFalse(contains(onDisk, new byte[]{0x12, (byte) 0x80, (byte) 0x80, 0x12, (byte) 0x80, (byte) 0x80}));
    }

    @Test
    void badLinesAreReportedWithTheirFieldAndCodeAndNotStored() throws Exception {
        String dataset = newDataset("acme-steward");
        byte[] good = TestClients.png(Color.ORANGE, 32, 32);
        Map<String, byte[]> images = new LinkedHashMap<>();
        images.put("good.png", good);
        images.put("notes.png", "these are not pixels".getBytes(StandardCharsets.UTF_8));
        images.put("cut.png", Arrays.copyOf(good, good.length - 20));
        String records = String.join("\n",
                NATIVE.replace("scans/0042.png", "good.png"),
                NATIVE.replace("scans/0042.png", "notes.png"),
                NATIVE.replace("scans/0042.png", "cut.png"),
                NATIVE.replace("scans/0042.png", "absent.png"),
                NATIVE.replace("scans/0042.png", "../../etc/passwd"));

        Import result = importFile("acme-steward", dataset, ImportFormat.IMPORT_FORMAT_LOUPE,
                ImportMode.IMPORT_MODE_ACCEPT_VALID, "", images, records);

        assertEquals(ImportState.IMPORT_STATE_SUCCEEDED, result.getState());
        assertEquals(5, result.getLinesRead());
        assertEquals(1, result.getRecordsAccepted());
        assertEquals(4, result.getLinesRejected());
        List<ImportRejection> rejections = as("acme-steward").listImportRejections(ListImportRejectionsRequest
                .newBuilder().setDatasetId(dataset).setImportId(result.getId()).build()).getRejectionsList();
        assertEquals(List.of("2 /images/0 not_an_image", "3 /images/0 truncated_image",
                "4 /images/0 missing_image_file", "5 /images/0 path_traversal"),
                rejections.stream().map(r -> r.getLine() + " " + r.getPointer() + " " + r.getCode()).toList());
        assertEquals(1, records("acme-steward", dataset).size());
        assertEquals(1, blobsOf(dataset).size(), "only the accepted record's image is stored");
    }

    @Test
    void allOrNothingStoresNothingWhenALineIsBad() throws Exception {
        String dataset = newDataset("acme-steward");
        Map<String, byte[]> images = Map.of("good.png", TestClients.png(Color.BLUE, 16, 16));
        String records = NATIVE.replace("scans/0042.png", "good.png") + "\n"
                + NATIVE.replace("scans/0042.png", "absent.png");

        Import result = importFile("acme-steward", dataset, ImportFormat.IMPORT_FORMAT_LOUPE,
                ImportMode.IMPORT_MODE_ALL_OR_NOTHING, "", images, records);

        assertEquals(ImportState.IMPORT_STATE_FAILED, result.getState());
        assertTrue(result.getFailureReason().contains("all-or-nothing"), result.getFailureReason());
        assertEquals(0, records("acme-steward", dataset).size());
        assertEquals(List.of(), blobsOf(dataset));
    }

    @Test
    void aTamperedOrMovedBlobFailsToDecryptWithAClearError() throws Exception {
        String dataset = newDataset("acme-steward");
        Map<String, byte[]> images = Map.of("a.png", TestClients.png(Color.RED, 16, 16), "b.png",
                TestClients.png(Color.GREEN, 16, 16));
        String records = NATIVE.replace("scans/0042.png", "a.png") + "\n" + NATIVE.replace("scans/0042.png", "b.png");
        importFile("acme-steward", dataset, ImportFormat.IMPORT_FORMAT_LOUPE, ImportMode.IMPORT_MODE_ACCEPT_VALID, "",
                images, records);
        List<Record> stored = records("acme-steward", dataset);
        assertEquals(2, stored.size());
        Path blobA = blobOf(dataset, stored.get(0).getId());
        Path blobB = blobOf(dataset, stored.get(1).getId());

        // Another record's blob copied over this one's: authentic, but bound to another record.
        Files.copy(blobB, blobA, StandardCopyOption.REPLACE_EXISTING);
        StatusRuntimeException moved = assertThrows(StatusRuntimeException.class,
                () -> download("acme-engineer", dataset, stored.get(0).getId(), 0));
        assertEquals(Status.Code.DATA_LOSS, moved.getStatus().getCode());
        assertTrue(moved.getStatus().getDescription().contains("integrity"), moved.getStatus().getDescription());

        // One flipped bit.
        byte[] bytes = Files.readAllBytes(blobB);
        bytes[bytes.length / 2] ^= 1;
        Files.write(blobB, bytes);
        StatusRuntimeException flipped = assertThrows(StatusRuntimeException.class,
                () -> download("acme-engineer", dataset, stored.get(1).getId(), 0));
        assertEquals(Status.Code.DATA_LOSS, flipped.getStatus().getCode());
    }

    @Test
    void anIdempotencyKeyRunsAnImportOnceAndOtherTenantsSeeNothing() throws Exception {
        String dataset = newDataset("acme-steward");
        Map<String, byte[]> images = Map.of("scans/0042.png", TestClients.png(Color.MAGENTA, 8, 8));
        String key = "import-" + UUID.randomUUID();
        Import first = importFile("acme-steward", dataset, ImportFormat.IMPORT_FORMAT_LOUPE,
                ImportMode.IMPORT_MODE_ACCEPT_VALID, key, images, NATIVE);
        Import retry = importFile("acme-steward", dataset, ImportFormat.IMPORT_FORMAT_LOUPE,
                ImportMode.IMPORT_MODE_ACCEPT_VALID, key, images, NATIVE);
        assertEquals(first.getId(), retry.getId());
        assertEquals(1, records("acme-steward", dataset).size());

        String recordId = records("acme-steward", dataset).get(0).getId();
        for (Runnable foreign : List.<Runnable>of(
                () -> records("globex-steward", dataset),
                () -> as("globex-steward").getImport(GetImportRequest.newBuilder().setDatasetId(dataset)
                        .setImportId(first.getId()).build()),
                () -> download("globex-engineer", dataset, recordId, 0))) {
            StatusRuntimeException error = assertThrows(StatusRuntimeException.class, foreign::run);
            assertEquals(Status.Code.NOT_FOUND, error.getStatus().getCode());
        }
        StatusRuntimeException imported = assertThrows(StatusRuntimeException.class,
                () -> importFile("globex-steward", dataset, ImportFormat.IMPORT_FORMAT_LOUPE,
                        ImportMode.IMPORT_MODE_ACCEPT_VALID, "", images, NATIVE));
        assertEquals(Status.Code.NOT_FOUND, imported.getStatus().getCode());
    }

    @Test
    void deletingADatasetShredsItsKeySoEarlierCopiesCannotBeDecrypted() throws Exception {
        String dataset = newDataset("acme-steward");
        importFile("acme-steward", dataset, ImportFormat.IMPORT_FORMAT_LOUPE, ImportMode.IMPORT_MODE_ACCEPT_VALID, "",
                Map.of("scans/0042.png", TestClients.png(Color.CYAN, 8, 8)), NATIVE);
        // What a backup taken before the deletion holds: the blob and the image's row with its wrapped key.
        byte[] blobCopy = Files.readAllBytes(blobsOf(dataset).get(0));
        String wrappedKey;
        try (Connection connection = DriverManager.getConnection(jdbcUrl, dbUser, dbPassword);
                PreparedStatement select = connection.prepareStatement("SELECT m.wrapped_key FROM record_image m"
                        + " JOIN dataset_record r ON r.id = m.record_id WHERE r.dataset_id = ?::uuid")) {
            select.setString(1, dataset);
            try (ResultSet row = select.executeQuery()) {
                assertTrue(row.next());
                wrappedKey = row.getString(1);
            }
        }
        String keyName = ImportService.datasetKeyName("acme", UUID.fromString(dataset));
        assertEquals(32, dataKeys.unwrap(keyName, wrappedKey).length, "readable before the deletion");

        as("acme-admin").deleteDataset(DeleteDatasetRequest.newBuilder().setDatasetId(dataset).build());

        assertThrows(DataKeyUnavailableException.class, () -> dataKeys.unwrap(keyName, wrappedKey));
        assertEquals(List.of(), blobsOf(dataset));
        assertTrue(blobCopy.length > 0);
    }

    @Test
    void anUploadThatBreaksOffAfterValidationStartedStoresNothing() throws Exception {
        String dataset = newDataset("acme-steward");
        // 70 records with images: the first 64 fill a batch that is stored (blobs and rows) while the 65th waits
        // for its image, which never comes; then the client goes away.
        StringBuilder records = new StringBuilder();
        for (int i = 0; i < 70; i++) {
            records.append(NATIVE.replace("scans/0042.png", "img/" + i + ".png").replace("What colour is this?",
                    "What colour is image " + i + "?")).append('\n');
        }
        ImportUploads.OpenUpload upload = ImportUploads.open(channel, "acme-steward", dataset,
                ImportFormat.IMPORT_FORMAT_LOUPE, ImportMode.IMPORT_MODE_ACCEPT_VALID, records.toString());
        for (int i = 0; i < 64; i++) {
            upload.sendImage("img/" + i + ".png", TestClients.png(new Color(i * 3, 90, 200 - i), 8, 8));
        }
        boolean staged = false;
        for (int attempt = 0; attempt < 100 && !staged; attempt++) {
            Thread.sleep(100);
            staged = blobsOf(dataset).size() == 64;
        }
        assertTrue(staged, "the first batch was stored before the upload broke off");

        upload.cancel();

        String state = "";
        for (int attempt = 0; attempt < 100 && !state.equals("failed"); attempt++) {
            Thread.sleep(100);
            try (Connection connection = DriverManager.getConnection(jdbcUrl, dbUser, dbPassword);
                    PreparedStatement select = connection.prepareStatement(
                            "SELECT state FROM dataset_import WHERE dataset_id = ?::uuid")) {
                select.setString(1, dataset);
                try (ResultSet row = select.executeQuery()) {
                    state = row.next() ? row.getString(1) : "";
                }
            }
        }
        assertEquals("failed", state, "the import the records started ends failed");
        assertEquals(List.of(), records("acme-steward", dataset));
        assertEquals(List.of(), blobsOf(dataset), "the stored batch is removed again");
        try (Connection connection = DriverManager.getConnection(jdbcUrl, dbUser, dbPassword);
                PreparedStatement count = connection.prepareStatement(
                        "SELECT count(*) FROM dataset_record WHERE dataset_id = ?::uuid")) {
            count.setString(1, dataset);
            try (ResultSet row = count.executeQuery()) {
                row.next();
                assertEquals(0, row.getInt(1), "no staged row is left");
            }
        }
    }

    @Test
    void importsBeyondTheSlotsAreRefusedUntilOneEnds() throws Exception {
        String dataset = newDataset("acme-steward");
        String waiting = NATIVE.replace("scans/0042.png", "never.png") + "\n";
        // The test profile has two slots: two uploads that wait for an image take them.
        List<ImportUploads.OpenUpload> held = List.of(
                ImportUploads.open(channel, "acme-steward", dataset, ImportFormat.IMPORT_FORMAT_LOUPE,
                        ImportMode.IMPORT_MODE_ACCEPT_VALID, waiting),
                ImportUploads.open(channel, "acme-steward", dataset, ImportFormat.IMPORT_FORMAT_LOUPE,
                        ImportMode.IMPORT_MODE_ACCEPT_VALID, waiting));
        Thread.sleep(500);
        StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
                () -> importFile("acme-steward", dataset, ImportFormat.IMPORT_FORMAT_LOUPE,
                        ImportMode.IMPORT_MODE_ACCEPT_VALID, "", Map.of(), NATIVE));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, refused.getStatus().getCode());

        held.forEach(ImportUploads.OpenUpload::cancel);
        Import later = null;
        for (int attempt = 0; attempt < 50 && later == null; attempt++) {
            Thread.sleep(100);
            try {
                later = importFile("acme-steward", dataset, ImportFormat.IMPORT_FORMAT_LOUPE,
                        ImportMode.IMPORT_MODE_ACCEPT_VALID, "", Map.of("scans/0042.png", TestClients.png(TEAL, 8, 8)),
                        NATIVE);
            } catch (StatusRuntimeException e) {
                assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
            }
        }
        assertEquals(ImportState.IMPORT_STATE_SUCCEEDED, later.getState(), "a slot is free again");
    }

    @Test
    void theSweeperRemovesBlobsNoRecordNamesAndKeepsTheOthers() throws Exception {
        String dataset = newDataset("acme-steward");
        importFile("acme-steward", dataset, ImportFormat.IMPORT_FORMAT_LOUPE, ImportMode.IMPORT_MODE_ACCEPT_VALID, "",
                Map.of("scans/0042.png", TestClients.png(Color.PINK, 8, 8)), NATIVE);
        String orphan = "acme/" + dataset + "/" + UUID.randomUUID() + "-0.img";
        blobStore.putAll(Map.of(orphan, new byte[]{1, 2, 3}));

        sweeper.sweep(Instant.now().plusSeconds(5));

        assertTrue(blobStore.get(orphan).isEmpty(), "the orphan is gone");
        assertEquals(1, blobsOf(dataset).size(), "the named blob stays");
    }

    private Path blobOf(String datasetId, String recordId) throws IOException {
        return blobsOf(datasetId).stream().filter(path -> path.toString().contains(recordId)).findFirst()
                .orElseThrow();
    }

    private static boolean contains(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return true;
            }
        }
        return false;
    }
}
