package dev.loupe.dataset;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import javax.imageio.ImageIO;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.junit.QuarkusTest;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.common.v1.PageRequest;
import dev.loupe.contracts.dataset.v1.CreateDatasetRequest;
import dev.loupe.contracts.dataset.v1.CreateVersionRequest;
import dev.loupe.contracts.dataset.v1.DatasetServiceGrpc.DatasetServiceBlockingStub;
import dev.loupe.contracts.dataset.v1.DatasetStats;
import dev.loupe.contracts.dataset.v1.DatasetVersion;
import dev.loupe.contracts.dataset.v1.Example;
import dev.loupe.contracts.dataset.v1.ExampleServiceGrpc;
import dev.loupe.contracts.dataset.v1.GetDatasetStatsRequest;
import dev.loupe.contracts.dataset.v1.Histogram;
import dev.loupe.contracts.dataset.v1.ImportFormat;
import dev.loupe.contracts.dataset.v1.ImportMode;
import dev.loupe.contracts.dataset.v1.ListRecordsRequest;
import dev.loupe.contracts.dataset.v1.ListRecordsResponse;
import dev.loupe.contracts.dataset.v1.Record;
import dev.loupe.contracts.dataset.v1.Split;
import dev.loupe.contracts.dataset.v1.StreamExamplesRequest;
import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.support.testing.KeycloakTokens;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What training and data stewards read of a frozen version: its records page by page, its statistics, and the
 * decrypted example stream a training job reads with a service account.
 */
@QuarkusTest
class ExamplesAndStatsTest {
    private static final int RECORDS = 24;

    @ConfigProperty(name = "quarkus.datasource.jdbc.url")
    String jdbcUrl;
    @ConfigProperty(name = "quarkus.datasource.username")
    String dbUser;
    @ConfigProperty(name = "quarkus.datasource.password")
    String dbPassword;

    @jakarta.inject.Inject
    dev.loupe.dataset.service.ExampleStreamService exampleStreams;

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

    private ExampleServiceGrpc.ExampleServiceBlockingStub trainingService() {
        return ExampleServiceGrpc.newBlockingStub(channel)
                .withCallCredentials(new BearerCallCredentials(KeycloakTokens.serviceToken("loupe-training-service"),
                        null))
                .withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    /**
     * {@link #RECORDS} records of acme: even ones with a 64x32 image and a box labelled cat or dog, odd ones
     * text only; plus a duplicate line and a line with a wrong role order, rejected.
     */
    private String dataset(Map<String, byte[]> images) throws Exception {
        String dataset = as("acme-steward").createDataset(CreateDatasetRequest.newBuilder()
                .setName("examples-" + UUID.randomUUID().toString().substring(0, 8)).build()).getDataset().getId();
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < RECORDS; i++) {
            if (i % 2 == 0) {
                images.put("img/" + i + ".png", TestClients.png(new Color(i * 10, 40, 200 - i * 5), 64, 32));
                lines.append("{\"id\": \"r").append(i).append("\", \"images\": [\"img/").append(i).append(".png\"],"
                        + " \"messages\": [{\"role\": \"user\", \"content\": \"<image>\\nWhat animal?\"},"
                        + " {\"role\": \"assistant\", \"content\": \"Animal ").append(i).append(".\"}],"
                                + " \"annotations\": {\"boxes\": [{\"label\": \"")
                        .append(i % 4 == 0 ? "cat" : "dog")
                        .append("\", \"box\": [0.1, 0.1, 0.5, 0.5]}]}}\n");
            } else {
                lines.append("{\"id\": \"r").append(i).append("\", \"messages\": [{\"role\": \"user\", \"content\":"
                        + " \"Question ").append(i).append("?\"}, {\"role\": \"assistant\", \"content\": \"Answer ")
                        .append(i).append(".\"}]}\n");
            }
        }
        lines.append("{\"messages\": [{\"role\": \"user\", \"content\": \"Question 1?\"}, {\"role\": \"assistant\","
                + " \"content\": \"Answer 1.\"}]}\n");
        lines.append("{\"messages\": [{\"role\": \"assistant\", \"content\": \"First?\"}]}\n");
        ImportUploads.upload(channel, "acme-steward", dataset, ImportFormat.IMPORT_FORMAT_LOUPE,
                ImportMode.IMPORT_MODE_ACCEPT_VALID, "", images, lines.toString());
        return dataset;
    }

    private DatasetVersion freeze(String dataset) {
        return as("acme-steward").createVersion(CreateVersionRequest.newBuilder().setDatasetId(dataset)
                .setValidationFraction(0.25).setSplitSeed(11).build());
    }

    private List<Example> stream(String version, Split split, long from, String tenant) {
        List<Example> examples = new ArrayList<>();
        trainingService().streamExamples(StreamExamplesRequest.newBuilder().setVersionId(version).setSplit(split)
                .setStartPosition(from).setJobId("job-42").setTenant(tenant)
                .setOnBehalfOf(Actor.newBuilder().setUserId("u-1").setUsername("acme-engineer")).build())
                .forEachRemaining(examples::add);
        return examples;
    }

    @Test
    void aVersionsRecordsArePagedInManifestOrder() throws Exception {
        String dataset = dataset(new LinkedHashMap<>());
        DatasetVersion version = freeze(dataset);
        List<Record> paged = new ArrayList<>();
        String after = "";
        do {
            ListRecordsResponse page = as("acme-engineer").listRecords(ListRecordsRequest.newBuilder()
                    .setDatasetId(dataset).setVersionId(version.getId())
                    .setPage(PageRequest.newBuilder().setLimit(5).setAfter(after)).build());
            paged.addAll(page.getRecordsList());
            after = page.getPage().getNextAfter();
        } while (!after.isEmpty());
        assertEquals(RECORDS, paged.size());
        List<String> hashes = paged.stream().map(Record::getRecordHash).toList();
        assertEquals(hashes.stream().sorted().toList(), hashes, "manifest order is record-hash order");
        assertThrows(StatusRuntimeException.class, () -> as("globex-steward").listRecords(ListRecordsRequest
                .newBuilder().setDatasetId(dataset).setVersionId(version.getId()).build()));
    }

    @Test
    void statsCountImagesShapesLabelsAndRejections() throws Exception {
        String dataset = dataset(new LinkedHashMap<>());
        DatasetVersion version = freeze(dataset);
        for (String versionId : List.of("", version.getId())) {
            DatasetStats stats = as("acme-compliance").getDatasetStats(GetDatasetStatsRequest.newBuilder()
                    .setDatasetId(dataset).setVersionId(versionId).build());
            assertEquals(RECORDS, stats.getRecordCount());
            assertEquals(RECORDS / 2, stats.getImageCount());
            assertEquals(RECORDS / 2, total(stats.getImageWidth()));
            assertEquals(RECORDS / 2, count(stats.getImageWidth(), 64), "every width is 64");
            assertEquals(RECORDS / 2, count(stats.getImageAspectRatio(), 2), "every image is 2:1");
            assertEquals(RECORDS, total(stats.getImagesPerRecord()));
            assertEquals(RECORDS, total(stats.getTextCharacters()));
            assertEquals(Map.of("image/png", (long) RECORDS / 2), stats.getMediaTypesMap());
            assertEquals(Map.of("boxes", (long) RECORDS / 2), stats.getAnnotationTypesMap());
            assertEquals(Map.of("cat", 6L, "dog", 6L), stats.getBoxLabelsMap());
            assertEquals(1, stats.getDuplicatesSkipped());
            assertEquals(1, stats.getLinesRejected());
            assertEquals(Map.of("role_order", 1L), stats.getRejectedLinesByCodeMap());
        }
        StatusRuntimeException other = assertThrows(StatusRuntimeException.class, () -> as("globex-steward")
                .getDatasetStats(GetDatasetStatsRequest.newBuilder().setDatasetId(dataset).build()));
        assertEquals(Status.Code.NOT_FOUND, other.getStatus().getCode());
    }

    /** The count of the bucket whose upper bound is {@code bound}. */
    private static long count(Histogram histogram, double bound) {
        return histogram.getCounts(histogram.getBucketUpperBoundsList().indexOf(bound));
    }

    private static long total(Histogram histogram) {
        return histogram.getCountsList().stream().mapToLong(Long::longValue).sum();
    }

    @Test
    void theTrainingServiceStreamsASplitDecryptedFromAPositionAndTheReadIsAudited() throws Exception {
        Map<String, byte[]> images = new LinkedHashMap<>();
        String dataset = dataset(images);
        DatasetVersion version = freeze(dataset);

        List<Example> train = stream(version.getId(), Split.SPLIT_TRAIN, 0, "acme");
        List<Example> validation = stream(version.getId(), Split.SPLIT_VALIDATION, 0, "acme");
        assertEquals(version.getTrainCount(), train.size());
        assertEquals(version.getValidationCount(), validation.size());
        List<Long> positions = new ArrayList<>();
        train.forEach(example -> positions.add(example.getPosition()));
        validation.forEach(example -> positions.add(example.getPosition()));
        assertEquals(RECORDS, positions.stream().distinct().count(), "each manifest position once");
        for (Example example : train) {
            assertEquals(2, example.getMessagesCount());
            if (example.getImagesCount() == 1) {
                // The stored image is the re-encoded PNG of the upload: same pixels.
                String client = as("acme-steward").getRecord(dev.loupe.contracts.dataset.v1.GetRecordRequest
                        .newBuilder().setDatasetId(dataset).setRecordId(example.getRecordId()).build()).getClientId();
                BufferedImage sent = ImageIO.read(new java.io.ByteArrayInputStream(
                        images.get("img/" + client.substring(1) + ".png")));
                BufferedImage got = ImageIO.read(example.getImages(0).getData().newInput());
                assertEquals(sent.getRGB(5, 5), got.getRGB(5, 5));
            }
        }
        // A resumed job starts after the last position it consumed.
        long resumeAt = train.get(5).getPosition() + 1;
        List<Example> resumed = stream(version.getId(), Split.SPLIT_TRAIN, resumeAt, "acme");
        assertEquals(train.subList(6, train.size()), resumed);

        // Another tenant's version is not found; a user token is refused.
        StatusRuntimeException other = assertThrows(StatusRuntimeException.class,
                () -> stream(version.getId(), Split.SPLIT_TRAIN, 0, "globex"));
        assertEquals(Status.Code.NOT_FOUND, other.getStatus().getCode());
        StatusRuntimeException user = assertThrows(StatusRuntimeException.class, () -> ExampleServiceGrpc
                .newBlockingStub(channel)
                .withCallCredentials(new BearerCallCredentials(KeycloakTokens.accessToken("acme-engineer"), null))
                .streamExamples(StreamExamplesRequest.newBuilder().setVersionId(version.getId())
                        .setSplit(Split.SPLIT_TRAIN).setJobId("j").setTenant("acme").build())
                .hasNext());
        assertEquals(Status.Code.PERMISSION_DENIED, user.getStatus().getCode());
        // Another Loupe service holds the same service role, but reads no images.
        StatusRuntimeException otherService = assertThrows(StatusRuntimeException.class, () -> ExampleServiceGrpc
                .newBlockingStub(channel)
                .withCallCredentials(new BearerCallCredentials(KeycloakTokens.serviceToken("loupe-dataset-service"),
                        null))
                .streamExamples(StreamExamplesRequest.newBuilder().setVersionId(version.getId())
                        .setSplit(Split.SPLIT_TRAIN).setJobId("j").setTenant("acme").build())
                .hasNext());
        assertEquals(Status.Code.PERMISSION_DENIED, otherService.getStatus().getCode());

        List<AuditEvent> reads = new ArrayList<>();
        try (Connection connection = DriverManager.getConnection(jdbcUrl, dbUser, dbPassword);
                PreparedStatement query = connection.prepareStatement("SELECT payload FROM audit_outbox ORDER BY id");
                ResultSet rows = query.executeQuery()) {
            while (rows.next()) {
                AuditEvent event = AuditEvent.parseFrom(rows.getBytes("payload"));
                if (event.getResource().getId().equals(version.getId())
                        && event.getAction().equals("dataset.version.examples.read")) {
                    reads.add(event);
                }
            }
        }
        assertEquals(3, reads.size(), "each opened stream of this tenant is one audited read");
        AuditEvent read = reads.get(0);
        assertEquals("acme", read.getTenant());
        assertEquals("loupe-training-service", read.getActor().getActor().getService());
        assertEquals("acme-engineer", read.getActor().getOnBehalfOf().getUsername());
        assertEquals("job-42", read.getDetails().getFieldsOrThrow("job_id").getStringValue());
    }

    @Test
    void aSlowReaderKeepsTheServiceFromDecryptingAhead() throws Exception {
        // 80 records with noisy 256x256 images (about 190 KB each once re-encoded): 5 pages of 16 records, each
        // megabytes, far more than gRPC's flow-control window.
        String dataset = as("acme-steward").createDataset(CreateDatasetRequest.newBuilder()
                .setName("slow-" + UUID.randomUUID().toString().substring(0, 8)).build()).getDataset().getId();
        Map<String, byte[]> images = new LinkedHashMap<>();
        StringBuilder lines = new StringBuilder();
        java.util.Random random = new java.util.Random(5);
        for (int i = 0; i < 80; i++) {
            BufferedImage noise = new BufferedImage(256, 256, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < 256; y++) {
                for (int x = 0; x < 256; x++) {
                    noise.setRGB(x, y, random.nextInt(1 << 24));
                }
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(noise, "png", out);
            images.put("n/" + i + ".png", out.toByteArray());
            lines.append("{\"images\": [\"n/").append(i).append(".png\"], \"messages\": [{\"role\": \"user\","
                    + " \"content\": \"<image>\\nNoise?\"}, {\"role\": \"assistant\", \"content\": \"Noise ")
                    .append(i).append(".\"}]}\n");
        }
        ImportUploads.upload(channel, "acme-steward", dataset, ImportFormat.IMPORT_FORMAT_LOUPE,
                ImportMode.IMPORT_MODE_ALL_OR_NOTHING, "", images, lines.toString());
        DatasetVersion version = as("acme-steward").createVersion(CreateVersionRequest.newBuilder()
                .setDatasetId(dataset).setValidationFraction(0).setSplitSeed(1).build());

        // A fixed 64 KiB window, as a reader on a slow link would have (grpc-java otherwise grows it on loopback).
        ManagedChannel slowLink = io.grpc.netty.NettyChannelBuilder.forAddress("localhost", 18081).usePlaintext()
                .flowControlWindow(64 << 10).maxInboundMessageSize(64 << 20).build();
        long before = exampleStreams.pagesRead();
        Iterator<Example> examples = ExampleServiceGrpc.newBlockingStub(slowLink)
                .withCallCredentials(new BearerCallCredentials(KeycloakTokens.serviceToken("loupe-training-service"),
                        null))
                .withDeadlineAfter(60, TimeUnit.SECONDS)
                .streamExamples(StreamExamplesRequest.newBuilder()
                        .setVersionId(version.getId()).setSplit(Split.SPLIT_TRAIN).setJobId("slow").setTenant("acme")
                        .build());
        examples.next();
        // The reader takes one example and pauses: the service sent what the transport took (the first page, at
        // most the next one being queued when the window filled) and stopped there.
        Thread.sleep(1500);
        long whilePaused = exampleStreams.pagesRead() - before;
        assertTrue(whilePaused <= 2, "decrypted ahead while the reader paused: " + whilePaused + " of 5 pages");
        int count = 1;
        while (examples.hasNext()) {
            examples.next();
            count++;
        }
        slowLink.shutdownNow();
        assertEquals(80, count);
        assertEquals(6, exampleStreams.pagesRead() - before, "5 full pages of 16, then an empty last one");
    }
}
