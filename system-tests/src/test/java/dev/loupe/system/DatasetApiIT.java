package dev.loupe.system;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import io.restassured.response.Response;
import org.junit.jupiter.api.Test;

import static dev.loupe.system.Gateway.as;
import static org.hamcrest.Matchers.endsWith;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The dataset API through the gateway, as the README shows it. */
class DatasetApiIT {

    @Test
    void createGetDeleteWithIdempotencyKey() {
        String name = Gateway.uniqueName("xrays");
        String key = UUID.randomUUID().toString();
        Map<String, String> body = Map.of("name", name, "description", "chest x-rays");
        Response created = as("acme-steward").contentType("application/json")
                .header("Idempotency-Key", key)
                .body(body)
                .post("/v1/datasets");
        created.then()
                .statusCode(201)
                .header("Idempotent-Replayed", "false")
                .body("object", equalTo("dataset"))
                .body("name", equalTo(name))
                .body("record_count", equalTo(0))
                .body("created_by.username", equalTo("acme-steward"))
                .body("created_at", notNullValue());
        String id = created.path("id");
        assertTrue(created.header("Location").endsWith("/v1/datasets/" + id));

        as("acme-steward").contentType("application/json")
                .header("Idempotency-Key", key)
                .body(body)
                .post("/v1/datasets")
                .then()
                .statusCode(201)
                .header("Idempotent-Replayed", "true")
                .body("id", equalTo(id));
        as("acme-steward").contentType("application/json")
                .header("Idempotency-Key", key)
                .body(Map.of("name", Gateway.uniqueName("other")))
                .post("/v1/datasets")
                .then()
                .statusCode(422)
                .body("type", endsWith("/idempotency-key-reused"));

        as("acme-compliance").get("/v1/datasets/" + id).then().statusCode(200).body("description",
                equalTo("chest x-rays"));
        as("acme-admin").delete("/v1/datasets/" + id).then().statusCode(204);
        as("acme-steward").get("/v1/datasets/" + id).then().statusCode(404).contentType("application/problem+json");
    }

    @Test
    void aLegalHoldBlocksDeletionUntilReleasedAndRetentionShowsWhenADatasetExpires() {
        String id = Gateway.createDataset("acme-steward", Gateway.uniqueName("held"));
        as("acme-steward").contentType("application/json")
                .body(Map.of("max_age_days", 365))
                .put("/v1/datasets/" + id + "/retention")
                .then()
                .statusCode(200)
                .body("retention_max_age_days", equalTo(365))
                .body("expires_at", notNullValue());
        as("acme-steward").contentType("application/json")
                .body(Map.of("max_age_days", 40000))
                .put("/v1/datasets/" + id + "/retention")
                .then()
                .statusCode(400)
                .body("field", equalTo("max_age_days"));
        as("acme-compliance").contentType("application/json")
                .body(Map.of("reason", "Litigation 2026-114"))
                .put("/v1/datasets/" + id + "/legal-hold")
                .then()
                .statusCode(200)
                .body("legal_hold.reason", equalTo("Litigation 2026-114"))
                .body("legal_hold.placed_by.username", equalTo("acme-compliance"));

        as("acme-admin").delete("/v1/datasets/" + id)
                .then()
                .statusCode(409)
                .contentType("application/problem+json")
                .body("type", equalTo("https://loupe.dev/problems/legal-hold"));
        as("acme-steward").get("/v1/datasets/" + id).then().statusCode(200);

        as("acme-steward").delete("/v1/datasets/" + id + "/legal-hold")
                .then()
                .statusCode(200)
                .body("legal_hold", nullValue());
        as("acme-admin").delete("/v1/datasets/" + id).then().statusCode(204);
    }

    @Test
    void invalidInputIsProblemNamingTheFieldAndChangesNothing() {
        int before = Gateway.allDatasetIds("acme-steward").size();
        as("acme-steward").contentType("application/json")
                .body(Map.of("name", "spaces are not allowed"))
                .post("/v1/datasets")
                .then()
                .statusCode(400)
                .contentType("application/problem+json")
                .body("type", equalTo("https://loupe.dev/problems/invalid-request"))
                .body("field", equalTo("name"));
        as("acme-steward").contentType("application/json")
                .body(Map.of("description", "no name"))
                .post("/v1/datasets")
                .then()
                .statusCode(400)
                .body("field", equalTo("name"));
        as("acme-steward").get("/v1/datasets?limit=1000").then().statusCode(400).body("field", equalTo("limit"));
        assertEquals(before, Gateway.allDatasetIds("acme-steward").size());
    }

    @Test
    void duplicateNameIs409() {
        String name = Gateway.uniqueName("dup");
        Gateway.createDataset("acme-steward", name);
        as("acme-admin").contentType("application/json")
                .body(Map.of("name", name))
                .post("/v1/datasets")
                .then()
                .statusCode(409)
                .body("field", equalTo("name"));
    }

    @Test
    void paginationThroughTheGateway() {
        List<String> created = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            created.add(Gateway.createDataset("globex-steward", Gateway.uniqueName("page")));
        }
        List<String> seen = new ArrayList<>();
        String after = null;
        do {
            var request = as("globex-steward").queryParam("limit", 2);
            if (after != null) {
                request.queryParam("after", after);
            }
            Response page = request.get("/v1/datasets").then().statusCode(200).extract().response();
            List<String> ids = page.path("data.id");
            assertTrue(ids.size() <= 2);
            seen.addAll(ids);
            after = page.path("next_after");
            assertEquals(page.<Boolean>path("has_more"), after != null);
        } while (after != null);
        assertEquals(created, seen.stream().filter(created::contains).toList());
    }
}
