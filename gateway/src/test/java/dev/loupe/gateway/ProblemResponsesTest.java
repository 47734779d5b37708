package dev.loupe.gateway;

import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import dev.loupe.support.testing.KeycloakTokens;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasKey;
import static org.hamcrest.Matchers.matchesPattern;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Errors leave the gateway as problem+json with a stable type, the field at fault, and no internals. */
@QuarkusTest
class ProblemResponsesTest {

    private static String steward() {
        return KeycloakTokens.accessToken("acme-steward");
    }

    @Test
    void unknownRouteIs404Problem() {
        given().auth()
                .oauth2(steward())
                .when()
                .get("/v1/no-such-thing")
                .then()
                .statusCode(404)
                .contentType("application/problem+json")
                .body("type", equalTo("https://loupe.dev/problems/not-found"));
    }

    @Test
    void malformedJsonIs400Problem() {
        given().auth()
                .oauth2(steward())
                .contentType("application/json")
                .body("{\"name\": ")
                .when()
                .post("/v1/datasets")
                .then()
                .statusCode(400)
                .contentType("application/problem+json")
                .body("type", equalTo("https://loupe.dev/problems/invalid-request"))
                .body(not(containsString("Exception")));
    }

    @Test
    void unknownFieldIs400ProblemNamingIt() {
        given().auth()
                .oauth2(steward())
                .contentType("application/json")
                .body("{\"name\":\"ok\",\"colour\":\"blue\"}")
                .when()
                .post("/v1/datasets")
                .then()
                .statusCode(400)
                .contentType("application/problem+json")
                .body("field", equalTo("colour"));
    }

    @Test
    void badLimitIs400ProblemNamingIt() {
        given().auth()
                .oauth2(steward())
                .when()
                .get("/v1/datasets?limit=lots")
                .then()
                .statusCode(400)
                .contentType("application/problem+json")
                .body("field", equalTo("limit"));
    }

    @Test
    void unavailableServiceIs503ProblemWithoutInternals() {
        // Nothing listens where the test profile points the dataset-service.
        given().auth()
                .oauth2(steward())
                .header("X-Request-Id", "req-123")
                .when()
                .get("/v1/datasets")
                .then()
                .statusCode(503)
                .contentType("application/problem+json")
                .body("type", equalTo("https://loupe.dev/problems/service-unavailable"))
                .body("request_id", equalTo("req-123"))
                .body("$", not(hasKey("stack")))
                .body(not(containsString("io.grpc")))
                .body(not(containsString("Exception")));
    }

    @Test
    void everyResponseCarriesARequestId() {
        String generated = given().when().get("/v1/datasets").then().statusCode(401).extract().header("X-Request-Id");
        assertTrue(generated.matches("[0-9a-f-]{36}"), generated);
        given().header("X-Request-Id", "client-chosen.1")
                .when()
                .get("/v1/datasets")
                .then()
                .header("X-Request-Id", "client-chosen.1")
                .body("request_id", equalTo("client-chosen.1"));
        // Anything that is not a plain token is replaced, so it never reaches a log line.
        given().header("X-Request-Id", "id with spaces; and more")
                .when()
                .get("/v1/datasets")
                .then()
                .header("X-Request-Id", matchesPattern("[0-9a-f-]{36}"));
    }

    @Test
    void operabilityEndpointsAnswer() {
        given().when().get("/q/health/live").then().statusCode(200);
        given().when().get("/q/metrics").then().statusCode(200).body(containsString("http_server"));
        given().accept("application/json")
                .when()
                .get("/q/openapi")
                .then()
                .statusCode(200)
                .body("paths", hasKey("/v1/datasets"));
    }
}
