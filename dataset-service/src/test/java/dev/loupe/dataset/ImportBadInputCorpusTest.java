package dev.loupe.dataset;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.CRC32;

import javax.imageio.ImageIO;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.quarkus.test.junit.QuarkusTest;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.dataset.v1.CreateDatasetRequest;
import dev.loupe.contracts.dataset.v1.DatasetServiceGrpc;
import dev.loupe.contracts.dataset.v1.Import;
import dev.loupe.contracts.dataset.v1.ImportFormat;
import dev.loupe.contracts.dataset.v1.ImportMode;
import dev.loupe.contracts.dataset.v1.ListImportRejectionsRequest;
import dev.loupe.contracts.dataset.v1.ListRecordsRequest;
import dev.loupe.contracts.dataset.v1.Record;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.support.testing.KeycloakTokens;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The bad-input corpus through the whole import path of the dataset-service: each bad line is rejected with its
 * stable code, and nothing of it is stored. (A zip bomb is refused by the gateway before anything reaches this
 * service: see the gateway's ImportChunksTest.)
 */
@QuarkusTest
class ImportBadInputCorpusTest {
    private static final String ANSWER = "{\"role\": \"assistant\", \"content\": \"Fine.\"}";

    @ConfigProperty(name = "loupe.dataset.blobs.dir")
    Path blobDir;

    private ManagedChannel channel;

    @BeforeEach
    void openChannel() {
        channel = ManagedChannelBuilder.forAddress("localhost", 18081).usePlaintext().build();
    }

    @AfterEach
    void closeChannel() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private static String line(String id, String images, String userContent) {
        return "{\"id\": \"" + id + "\", \"images\": " + images
                + ", \"messages\": [{\"role\": \"user\", \"content\": \""
                + userContent + "\"}, " + ANSWER + "]}";
    }

    @Test
    void everyBadLineIsRejectedWithItsCodeAndNothingOfItIsStored() throws Exception {
        String user = "acme-steward";
        String dataset = DatasetServiceGrpc.newBlockingStub(channel)
                .withCallCredentials(new BearerCallCredentials(KeycloakTokens.accessToken(user), null))
                .createDataset(CreateDatasetRequest.newBuilder()
                        .setName("corpus-" + UUID.randomUUID().toString().substring(0, 8)).build())
                .getDataset().getId();
        byte[] good = png(Color.GREEN);
        Map<String, byte[]> images = new LinkedHashMap<>();
        images.put("good.png", good);
        images.put("cut.png", Arrays.copyOf(good, good.length / 2));
        images.put("text.png", "just some words".getBytes(StandardCharsets.UTF_8));
        images.put("huge.png", pngHeaderOnly(50_000, 50_000));
        String elevenImages = "[" + String.join(", ", Collections.nCopies(11, "\"good.png\"")) + "]";

        ByteArrayOutputStream file = new ByteArrayOutputStream();
        List<String> lines = List.of(
                line("ok", "[\"good.png\"]", "<image>\\nWhat is this?"),
                line("truncated", "[\"cut.png\"]", "<image>\\nWhat is this?"),
                line("not-image", "[\"text.png\"]", "<image>\\nWhat is this?"),
                line("bomb", "[\"huge.png\"]", "<image>\\nWhat is this?"),
                line("long", "[]", "x".repeat(10 * 1024 * 1024)),
                "INVALID_UTF8",
                "{\"id\": \"order\", \"messages\": [" + ANSWER + ", {\"role\": \"user\", \"content\": \"Hi\"}]}",
                "{\"id\": \"assistant-image\", \"images\": [\"good.png\"], \"messages\": [{\"role\": \"user\","
                        + " \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"<image> here\"}]}",
                line("eleven", elevenImages, "<image>".repeat(11)),
                line("traversal", "[\"../../etc/passwd\"]", "<image>\\nWhat is this?"),
                line("loopback", "[\"https://127.0.0.1/cat.png\"]", "<image>\\nWhat is this?"),
                line("ok", "[\"good.png\"]", "<image>\\nAnd this?"));
        for (String text : lines) {
            if (text.equals("INVALID_UTF8")) {
                file.write("{\"id\": \"utf\", \"messages\": [{\"role\": \"user\", \"content\": \"caf".getBytes(
                        StandardCharsets.UTF_8));
                file.write(new byte[]{(byte) 0xC3, (byte) 0x28});
                file.write(("\"}, " + ANSWER + "]}").getBytes(StandardCharsets.UTF_8));
            } else {
                file.write(text.getBytes(StandardCharsets.UTF_8));
            }
            file.write('\n');
        }

        Import result = ImportUploads.upload(channel, user, dataset, ImportFormat.IMPORT_FORMAT_LOUPE,
                ImportMode.IMPORT_MODE_ACCEPT_VALID, "", images, file.toByteArray());

        assertEquals(12, result.getLinesRead());
        assertEquals(1, result.getRecordsAccepted());
        List<String> rejections = DatasetServiceGrpc.newBlockingStub(channel)
                .withCallCredentials(new BearerCallCredentials(KeycloakTokens.accessToken(user), null))
                .listImportRejections(ListImportRejectionsRequest.newBuilder().setDatasetId(dataset)
                        .setImportId(result.getId()).build())
                .getRejectionsList().stream().map(r -> r.getLine() + " " + r.getCode()).distinct().toList();
        // Eleven images are also too many tokens (576 each) for the 4096 of the default sequence length.
        assertEquals(List.of("2 truncated_image", "3 not_an_image", "4 dimensions_too_large", "5 line_too_long",
                "6 invalid_utf8", "7 role_order", "8 image_in_assistant_turn", "9 too_many_images",
                "9 sequence_too_long",
                "10 path_traversal", "11 private_address", "12 duplicate_id"), rejections);

        List<Record> stored = DatasetServiceGrpc.newBlockingStub(channel)
                .withCallCredentials(new BearerCallCredentials(KeycloakTokens.accessToken(user), null))
                .listRecords(ListRecordsRequest.newBuilder().setDatasetId(dataset).build()).getRecordsList();
        assertEquals(List.of("ok"), stored.stream().map(Record::getClientId).toList());
        try (Stream<Path> files = Files.walk(blobDir)) {
            assertEquals(1, files.filter(Files::isRegularFile).filter(p -> p.toString().contains(dataset)).count());
        }
    }

    private static byte[] png(Color colour) throws IOException {
        BufferedImage image = new BufferedImage(24, 24, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 24; y++) {
            for (int x = 0; x < 24; x++) {
                image.setRGB(x, y, colour.getRGB());
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, "png", out);
        return out.toByteArray();
    }

    /** A PNG whose header claims the given size: a decompression bomb is refused before any pixel is decoded. */
    private static byte[] pngHeaderOnly(int width, int height) {
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) 8).put((byte) 2)
                .put((byte) 0).put((byte) 0).put((byte) 0);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        out.writeBytes(chunk("IHDR", ihdr.array()));
        out.writeBytes(chunk("IEND", new byte[0]));
        return out.toByteArray();
    }

    private static byte[] chunk(String type, byte[] data) {
        CRC32 crc = new CRC32();
        crc.update(type.getBytes(StandardCharsets.US_ASCII));
        crc.update(data);
        return ByteBuffer.allocate(12 + data.length).putInt(data.length).put(type.getBytes(StandardCharsets.US_ASCII))
                .put(data).putInt((int) crc.getValue()).array();
    }
}
