package dev.loupe.gateway;

import java.time.Duration;
import java.util.stream.Stream;

import io.quarkus.test.junit.QuarkusTest;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import dev.loupe.support.testing.ForgedTokens;
import dev.loupe.support.testing.KeycloakTokens;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;

/**
 * Token abuse at the gateway: every bad token is answered 401 problem+json before any service is called. The
 * role matrix over every route runs against the whole stack in system-tests.
 */
@QuarkusTest
class GatewayAuthenticationTest {

    @Test
    void noTokenIs401Problem() {
        given().when()
                .get("/v1/datasets")
                .then()
                .statusCode(401)
                .contentType("application/problem+json")
                .header("WWW-Authenticate", startsWith("Bearer"))
                .body("type", equalTo("https://loupe.dev/problems/unauthenticated"))
                .body("status", equalTo(401));
    }

    @TestFactory
    Stream<DynamicTest> forgedTokensAre401() {
        return ForgedTokens.cases("acme-steward")
                .entrySet()
                .stream()
                .map(forged -> DynamicTest.dynamicTest(forged.getKey(), () -> given().auth()
                        .oauth2(forged.getValue().get())
                        .when()
                        .get("/v1/datasets")
                        .then()
                        .statusCode(401)
                        .contentType("application/problem+json")
                        .body("type", equalTo("https://loupe.dev/problems/unauthenticated"))));
    }

    @Test
    void expiredTokenIs401() {
        String token = ForgedTokens.shortLived("acme-app");
        // acme-app may not list datasets: 403 proves the token was accepted while it was valid.
        given().auth().oauth2(token).when().get("/v1/datasets").then().statusCode(403);
        Awaitility.await()
                .atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(500))
                .until(() -> given().auth().oauth2(token).when().get("/v1/datasets").statusCode() == 401);
    }

    @Test
    void roleOutsideTheMatrixIs403Problem() {
        given().auth()
                .oauth2(KeycloakTokens.accessToken("acme-engineer"))
                .contentType("application/json")
                .body("{\"name\":\"not-mine-to-create\"}")
                .when()
                .post("/v1/datasets")
                .then()
                .statusCode(403)
                .contentType("application/problem+json")
                .body("type", equalTo("https://loupe.dev/problems/forbidden"));
    }

    @Test
    void platformOperatorReadsNoTenantData() {
        given().auth()
                .oauth2(KeycloakTokens.accessToken("platform-ops"))
                .when()
                .get("/v1/datasets")
                .then()
                .statusCode(403)
                .contentType("application/problem+json");
    }
}
