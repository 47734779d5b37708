package dev.loupe.system;

import java.util.List;
import java.util.UUID;

import io.restassured.response.Response;
import org.junit.jupiter.api.Test;

import static dev.loupe.system.Gateway.as;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What tenant acme creates is invisible to every user of tenant globex, on every route (BOLA). */
class TenantIsolationIT {
    private static final List<String> GLOBEX_READERS = List.of("globex-admin", "globex-steward", "globex-engineer",
            "globex-compliance");
    private static final List<String> GLOBEX_MANAGERS = List.of("globex-admin", "globex-steward");

    @Test
    void acmeDatasetIsInvisibleToGlobex() {
        String name = Gateway.uniqueName("acme-secret");
        String id = Gateway.createDataset("acme-steward", name);
        Response neverExisted = as("globex-steward").get("/v1/datasets/" + UUID.randomUUID());

        for (String user : GLOBEX_READERS) {
            Response foreign = as(user).get("/v1/datasets/" + id);
            assertEquals(404, foreign.statusCode(), user);
            // The answer for another tenant's id is the answer for an id that never existed.
            assertEquals(neverExisted.path("type").toString(), foreign.path("type").toString());
            assertEquals(neverExisted.path("title").toString(), foreign.path("title").toString());
            assertFalse(Gateway.allDatasetIds(user).contains(id), user + " lists acme's dataset");
        }
        for (String user : GLOBEX_MANAGERS) {
            as(user).delete("/v1/datasets/" + id).then().statusCode(404);
        }

        as("acme-steward").get("/v1/datasets/" + id).then().statusCode(200).body("name", equalTo(name));
        assertTrue(Gateway.allDatasetIds("acme-engineer").contains(id));
    }

    @Test
    void sameNameInTwoTenantsAreTwoDatasets() {
        String name = Gateway.uniqueName("shared-name");
        String acme = Gateway.createDataset("acme-steward", name);
        String globex = Gateway.createDataset("globex-steward", name);
        assertFalse(acme.equals(globex));
        as("globex-steward").delete("/v1/datasets/" + globex).then().statusCode(204);
        as("acme-steward").get("/v1/datasets/" + acme).then().statusCode(200);
    }
}
