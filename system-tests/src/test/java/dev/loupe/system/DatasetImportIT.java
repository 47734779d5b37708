package dev.loupe.system;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import javax.imageio.ImageIO;

import io.restassured.response.Response;
import org.junit.jupiter.api.Test;

import static dev.loupe.system.Gateway.as;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The dataset path through the gateway: import with a zip of images, records, an image, a version. */
class DatasetImportIT {
    private static final String RECORDS = String.join("\n",
            "{\"id\": \"a\", \"images\": [\"scans/a.png\"], \"messages\": [{\"role\": \"user\", \"content\":"
                    + " \"<image>\\nWhat colour?\"}, {\"role\": \"assistant\", \"content\": \"Orange.\"}]}",
            "{\"id\": \"b\", \"images\": [\"scans/missing.png\"], \"messages\": [{\"role\": \"user\", \"content\":"
                    + " \"<image>\\nWhat colour?\"}, {\"role\": \"assistant\", \"content\": \"Blue.\"}]}",
            "{\"id\": \"c\", \"messages\": [{\"role\": \"assistant\", \"content\": \"No question.\"}]}");

    @Test
    void importReadAnImageAndFreezeAVersion() throws Exception {
        String dataset = Gateway.createDataset("acme-steward", Gateway.uniqueName("imported"));
        Response imported = as("acme-steward")
                .header("Idempotency-Key", "import-" + UUID.randomUUID())
                .multiPart("format", "loupe")
                .multiPart("file", "records.jsonl", RECORDS.getBytes(StandardCharsets.UTF_8), "application/x-ndjson")
                .multiPart("images", "images.zip", zip("scans/a.png", png(Color.ORANGE)), "application/zip")
                .post("/v1/datasets/" + dataset + "/imports");
        imported.then().statusCode(201)
                .body("status", equalTo("succeeded"))
                .body("records_accepted", equalTo(1))
                .body("lines_rejected", equalTo(2));

        String importId = imported.path("id");
        as("acme-compliance").get("/v1/datasets/" + dataset + "/imports/" + importId).then().statusCode(200)
                .body("report.rejected_lines.line", equalTo(List.of(2, 3)))
                .body("report.rejected_lines.code", equalTo(List.of("missing_image_file", "role_order")))
                .body("report.rejected_lines[0].pointer", equalTo("/images/0"));

        Response records = as("acme-engineer").get("/v1/datasets/" + dataset + "/records");
        records.then().statusCode(200).body("data.client_id", equalTo(List.of("a")))
                .body("data[0].images[0].width", equalTo(40));
        String recordId = records.path("data[0].id");

        Response image = as("acme-engineer").get("/v1/datasets/" + dataset + "/records/" + recordId + "/images/0");
        image.then().statusCode(200).contentType("image/png").header("Cache-Control", "no-store");
        BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(image.asByteArray()));
        assertEquals(Color.ORANGE.getRGB(), decoded.getRGB(5, 5));
        // The tenant admin reads metadata but may not view images.
        as("acme-admin").get("/v1/datasets/" + dataset + "/records/" + recordId + "/images/0").then().statusCode(403);

        Response version = as("acme-steward").contentType("application/json")
                .body("{\"validation_fraction\": 0.2, \"split_seed\": 3}")
                .post("/v1/datasets/" + dataset + "/versions");
        version.then().statusCode(201).body("number", equalTo(1)).body("record_count", equalTo(1));
        as("acme-engineer").get("/v1/datasets/" + dataset + "/versions/" + version.path("id")).then().statusCode(200)
                .body("manifest_hash", equalTo(version.path("manifest_hash")));

        // A bad form names the part at fault, before anything is sent on.
        as("acme-steward").multiPart("format", "csv")
                .multiPart("file", "records.jsonl", RECORDS.getBytes(StandardCharsets.UTF_8), "application/x-ndjson")
                .post("/v1/datasets/" + dataset + "/imports")
                .then().statusCode(400).body("field", equalTo("format"));
    }

    private static byte[] zip(String name, byte[] content) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            zip.putNextEntry(new ZipEntry(name));
            zip.write(content);
            zip.closeEntry();
        }
        return bytes.toByteArray();
    }

    private static byte[] png(Color colour) throws IOException {
        BufferedImage image = new BufferedImage(40, 30, BufferedImage.TYPE_INT_RGB);
        Graphics2D graphics = image.createGraphics();
        graphics.setColor(colour);
        graphics.fillRect(0, 0, 40, 30);
        graphics.dispose();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, "png", out);
        return out.toByteArray();
    }
}
