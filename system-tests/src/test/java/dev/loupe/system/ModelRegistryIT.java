package dev.loupe.system;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import io.restassured.response.Response;
import org.junit.jupiter.api.Test;

import static dev.loupe.system.Gateway.as;
import static org.hamcrest.Matchers.endsWith;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The model registry through the gateway: the repository's tiny base model is registered when the stack starts. */
class ModelRegistryIT {
    /** The committed checkpoint; the system tests run in the system-tests folder. */
    private static final Path TINY_BASE = Path.of("..", "models", "loupe-tiny-base");

    @Test
    void theTinyBaseModelIsListedWithTheHashesOfItsFiles() throws Exception {
        Response listed = as("acme-engineer").get("/v1/models?limit=100");
        listed.then().statusCode(200).body("object", equalTo("list"));
        List<Map<String, Object>> models = listed.path("data");
        Map<String, Object> tiny = models.stream()
                .filter(model -> "loupe-tiny-base".equals(model.get("id")))
                .findFirst()
                .orElseThrow(() -> new AssertionError("loupe-tiny-base is not listed: " + models));
        assertEquals("llava", tiny.get("architecture"));
        assertEquals("training-service", ((Map<?, ?>) tiny.get("created_by")).get("service"), tiny.toString());
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> files = (List<Map<String, Object>>) tiny.get("files");
        Map<String, Object> weights = files.stream()
                .filter(file -> "model.safetensors".equals(file.get("name")))
                .findFirst()
                .orElseThrow();
        assertEquals(sha256(TINY_BASE.resolve("model.safetensors")), weights.get("sha256"),
                "the registered hash is the committed file's");
        assertTrue(((Number) tiny.get("parameter_count")).longValue() > 1_000_000, tiny.toString());
    }

    @Test
    void registeringAFolderOutsideTheModelStoreIsRefusedNamingTheField() {
        as("platform-ops").contentType("application/json")
                .body(Map.of("id", "outside", "storage_uri", "/etc"))
                .post("/v1/models")
                .then()
                .statusCode(400)
                .body("type", endsWith("/invalid-request"))
                .body("field", equalTo("storage_uri"));
    }

    private static String sha256(Path file) throws IOException, NoSuchAlgorithmException {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), digest)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
