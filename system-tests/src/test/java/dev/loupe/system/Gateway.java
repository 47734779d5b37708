package dev.loupe.system;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;

import dev.loupe.support.testing.KeycloakTokens;

import static io.restassured.RestAssured.given;

/** Calls to the running gateway as one of the realm's local users. */
final class Gateway {
    static final String URL = System.getProperty("loupe.test.gateway-url", "http://localhost:8080");

    /** Every user of tenant acme plus the platform operator, by role. */
    static final Map<String, String> ACME_USER_BY_ROLE = Map.of(
            "tenant-admin", "acme-admin",
            "data-steward", "acme-steward",
            "ml-engineer", "acme-engineer",
            "compliance-officer", "acme-compliance",
            "model-consumer", "acme-app",
            "platform-admin", "platform-ops");

    private Gateway() {
    }

    static RequestSpecification as(String username) {
        RequestSpecification request = given().baseUri(URL);
        return username == null ? request : request.auth().oauth2(KeycloakTokens.accessToken(username));
    }

    static String uniqueName(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Creates a dataset as the given user and returns its id. */
    static String createDataset(String username, String name) {
        return as(username).contentType("application/json")
                .body(Map.of("name", name, "description", "created by a system test"))
                .post("/v1/datasets")
                .then()
                .statusCode(201)
                .extract()
                .path("id");
    }

    /** The ids of every dataset the user can list, walking all pages. */
    static List<String> allDatasetIds(String username) {
        List<String> ids = new ArrayList<>();
        String after = null;
        do {
            RequestSpecification request = as(username).queryParam("limit", 100);
            if (after != null) {
                request.queryParam("after", after);
            }
            Response page = request.get("/v1/datasets").then().statusCode(200).extract().response();
            ids.addAll(page.path("data.id"));
            after = page.path("next_after");
        } while (after != null);
        return ids;
    }
}
