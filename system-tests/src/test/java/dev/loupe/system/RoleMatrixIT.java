package dev.loupe.system;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import io.restassured.response.Response;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import static dev.loupe.system.Gateway.as;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every REST route x every role (and no token) gets the status the security model's table in DESIGN.md
 * promises, with real tokens from the running Keycloak. A route the gateway serves without a row here fails
 * {@link #everyRouteHasAMatrixRow()}.
 */
class RoleMatrixIT {

    /**
     * One row of the expected matrix: a route, the roles allowed on it, and the status an allowed role gets: its
     * success status, or 404 where the route names an import or record that the fresh dataset does not have, or a
     * fine-tuning job or model version that does not exist (the role got past both the gateway's and the service's
     * checks).
     */
    record Route(String method, String path, Set<String> allowedRoles, int allowedStatus) {
        String key() {
            return method + " " + path;
        }
    }

    private static final Set<String> DATASET_MANAGERS = Set.of("tenant-admin", "data-steward");
    private static final Set<String> DATASET_READERS = Set.of("tenant-admin", "data-steward", "ml-engineer",
            "compliance-officer");

    private static final Set<String> IMAGE_VIEWERS = Set.of("data-steward", "ml-engineer");

    private static final Set<String> AUDIT_READERS = Set.of("compliance-officer");

    private static final Set<String> RETENTION_MANAGERS = Set.of("tenant-admin", "data-steward",
            "compliance-officer");

    private static final Set<String> ERASURE_EXECUTORS = Set.of("compliance-officer");

    private static final Set<String> PLATFORM_OPERATORS = Set.of("platform-admin");

    private static final Set<String> MODEL_READERS = Set.of("tenant-admin", "ml-engineer", "compliance-officer");
    private static final Set<String> MODEL_REVIEWERS = Set.of("compliance-officer");

    private static final Set<String> JOB_MANAGERS = Set.of("tenant-admin", "ml-engineer");
    private static final Set<String> JOB_READERS = Set.of("tenant-admin", "ml-engineer", "compliance-officer");

    private static final Set<String> DEPLOYMENT_MANAGERS = Set.of("tenant-admin", "ml-engineer");
    private static final Set<String> INFERENCE_CALLERS = Set.of("ml-engineer", "model-consumer");

    /** A UUID v7, as Loupe's ids are, that no import, record, job or model version has. */
    private static final String NO_SUCH_ID = "01890a5d-ac96-7000-8000-000000000000";

    /** A valid one-line import in Loupe's native format, without images. */
    private static final String ONE_RECORD = "{\"messages\": [{\"role\": \"user\", \"content\": \"What is Loupe?\"}, "
            + "{\"role\": \"assistant\", \"content\": \"A fine-tuning platform.\"}]}\n";

    static final List<Route> ROUTES = List.of(
            new Route("POST", "/v1/datasets", DATASET_MANAGERS, 201),
            new Route("GET", "/v1/datasets", DATASET_READERS, 200),
            new Route("GET", "/v1/datasets/{id}", DATASET_READERS, 200),
            new Route("DELETE", "/v1/datasets/{id}", DATASET_MANAGERS, 204),
            new Route("POST", "/v1/datasets/{id}/imports", DATASET_MANAGERS, 201),
            new Route("GET", "/v1/datasets/{id}/imports/{importId}", DATASET_READERS, 404),
            new Route("GET", "/v1/datasets/{id}/records", DATASET_READERS, 200),
            // A fresh dataset has no records to freeze: 409 shows the call got past authorization.
            new Route("POST", "/v1/datasets/{id}/versions", DATASET_MANAGERS, 409),
            new Route("GET", "/v1/datasets/{id}/versions", DATASET_READERS, 200),
            new Route("GET", "/v1/datasets/{id}/versions/{versionId}", DATASET_READERS, 404),
            new Route("GET", "/v1/datasets/{id}/records/{recordId}", DATASET_READERS, 404),
            new Route("GET", "/v1/datasets/{id}/records/{recordId}/images/{index}", IMAGE_VIEWERS, 404),
            new Route("DELETE", "/v1/datasets/{id}/records/{recordId}", ERASURE_EXECUTORS, 404),
            new Route("GET", "/v1/datasets/{id}/stats", DATASET_READERS, 200),
            new Route("GET", "/v1/datasets/{id}/versions/{versionId}/stats", DATASET_READERS, 404),
            new Route("GET", "/v1/datasets/{id}/versions/{versionId}/records", DATASET_READERS, 404),
            new Route("POST", "/v1/datasets/{id}/key-rotations", DATASET_MANAGERS, 200),
            new Route("PUT", "/v1/datasets/{id}/retention", RETENTION_MANAGERS, 200),
            new Route("PUT", "/v1/datasets/{id}/legal-hold", RETENTION_MANAGERS, 200),
            // A fresh dataset is not held: 409 shows the call got past authorization.
            new Route("DELETE", "/v1/datasets/{id}/legal-hold", RETENTION_MANAGERS, 409),
            new Route("GET", "/v1/audit/events", AUDIT_READERS, 200),
            new Route("GET", "/v1/audit/verify", AUDIT_READERS, 200),
            new Route("GET", "/v1/audit/export", AUDIT_READERS, 200),
            new Route("POST", "/v1/models", PLATFORM_OPERATORS, 400),
            new Route("GET", "/v1/models", MODEL_READERS, 200),
            new Route("GET", "/v1/models/{id}", MODEL_READERS, 404),
            new Route("POST", "/v1/models/{id}/approvals", MODEL_REVIEWERS, 404),
            new Route("POST", "/v1/models/{id}/quarantine", MODEL_REVIEWERS, 404),
            new Route("POST", "/v1/models/{id}/retire", MODEL_REVIEWERS, 404),
            // Downloading a version's weights takes JOBS_MANAGE, not only JOBS_READ.
            new Route("GET", "/v1/models/{id}/adapter", JOB_MANAGERS, 404),
            // An empty body names no model: refused by the training-service (400) once the role got through.
            new Route("POST", "/v1/fine-tuning/jobs", JOB_MANAGERS, 400),
            new Route("GET", "/v1/fine-tuning/jobs", JOB_READERS, 200),
            new Route("GET", "/v1/fine-tuning/jobs/{id}", JOB_READERS, 404),
            new Route("POST", "/v1/fine-tuning/jobs/{id}/cancel", JOB_MANAGERS, 404),
            new Route("POST", "/v1/fine-tuning/jobs/{id}/pause", JOB_MANAGERS, 404),
            new Route("POST", "/v1/fine-tuning/jobs/{id}/resume", JOB_MANAGERS, 404),
            new Route("GET", "/v1/fine-tuning/jobs/{id}/events", JOB_READERS, 404),
            new Route("GET", "/v1/fine-tuning/jobs/{id}/checkpoints", JOB_READERS, 404),
            // An unknown model version: 404 from the registry shows the call got through both services' checks.
            new Route("POST", "/v1/deployments", DEPLOYMENT_MANAGERS, 404),
            new Route("GET", "/v1/deployments", DEPLOYMENT_MANAGERS, 200),
            new Route("GET", "/v1/deployments/{id}", DEPLOYMENT_MANAGERS, 404),
            new Route("DELETE", "/v1/deployments/{id}", DEPLOYMENT_MANAGERS, 404),
            new Route("GET", "/v1/deployments/{id}/monitoring", DEPLOYMENT_MANAGERS, 404),
            // An unknown deployment: 404 from the serving-service.
            new Route("POST", "/v1/chat/completions", INFERENCE_CALLERS, 404),
            // An empty body names no model: refused by the gateway (400) once the role got through.
            new Route("POST", "/v1/batches", INFERENCE_CALLERS, 400),
            new Route("GET", "/v1/batches", INFERENCE_CALLERS, 200),
            new Route("GET", "/v1/batches/{id}", INFERENCE_CALLERS, 404),
            new Route("POST", "/v1/batches/{id}/cancel", INFERENCE_CALLERS, 404),
            new Route("GET", "/v1/batches/{id}/results", INFERENCE_CALLERS, 404));

    @Test
    void everyRouteHasAMatrixRow() {
        Map<String, Map<String, Object>> paths = as(null).accept("application/json")
                .get("/q/openapi")
                .then()
                .statusCode(200)
                .extract()
                .path("paths");
        Set<String> served = new TreeSet<>();
        paths.forEach((path, operations) -> operations.keySet()
                .stream()
                .filter(method -> Set.of("get", "post", "put", "patch", "delete").contains(method))
                .forEach(method -> served.add(method.toUpperCase() + " " + path)));
        Set<String> inMatrix = new TreeSet<>(ROUTES.stream().map(Route::key).toList());
        assertEquals(inMatrix, served, "routes the gateway serves vs routes in the role matrix");
    }

    @TestFactory
    Stream<DynamicTest> everyRouteTimesEveryRole() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Route route : ROUTES) {
            tests.add(DynamicTest.dynamicTest(route.key() + " without token -> 401",
                    () -> assertEquals(401, call(route, null).statusCode())));
            Gateway.ACME_USER_BY_ROLE.forEach((role, user) -> {
                int expected = route.allowedRoles().contains(role) ? route.allowedStatus() : 403;
                tests.add(DynamicTest.dynamicTest(route.key() + " as " + role + " -> " + expected, () -> {
                    Response response = call(route, user);
                    assertEquals(expected, response.statusCode(), response.asString());
                    if (expected >= 400) {
                        assertTrue(response.contentType().startsWith("application/problem+json"));
                    }
                }));
            });
        }
        return tests.stream();
    }

    /**
     * Calls a route as a user, with a fresh dataset of the user's tenant wherever the route needs a dataset id, and
     * a well-formed id that names nothing for its imports, records, fine-tuning jobs and model versions.
     */
    private static Response call(Route route, String user) {
        String path = route.path();
        if (path.startsWith("/v1/fine-tuning/jobs/") || path.startsWith("/v1/models/")
                || path.startsWith("/v1/deployments/") || path.startsWith("/v1/batches/")) {
            path = path.replace("{id}", NO_SUCH_ID);
        } else if (path.contains("{id}")) {
            path = path.replace("{id}", Gateway.createDataset("acme-steward", Gateway.uniqueName("matrix")));
        }
        path = path.replace("{importId}", NO_SUCH_ID).replace("{recordId}", NO_SUCH_ID).replace("{index}", "0")
                .replace("{versionId}", NO_SUCH_ID);
        var request = as(user);
        if (route.method().equals("POST") && path.endsWith("/imports")) {
            request.multiPart("file", "matrix.jsonl", ONE_RECORD.getBytes(StandardCharsets.UTF_8),
                    "application/x-ndjson")
                    .multiPart("format", "loupe");
        } else if (route.method().equals("POST") && path.endsWith("/versions")) {
            request.contentType("application/json").body(Map.of("validation_fraction", 0.1));
        } else if (path.endsWith("/retention")) {
            request.contentType("application/json").body(Map.of("max_age_days", 30));
        } else if (route.method().equals("PUT") && path.endsWith("/legal-hold")) {
            request.contentType("application/json").body(Map.of("reason", "role matrix"));
        } else if (route.method().equals("POST") && path.equals("/v1/models")) {
            // A folder outside the model store: refused by the training-service (400) once the role got through.
            request.contentType("application/json").body(Map.of("id", "matrix-model", "storage_uri", "/etc"));
        } else if (route.method().equals("POST") && path.equals("/v1/deployments")) {
            request.contentType("application/json").body(Map.of("model", NO_SUCH_ID));
        } else if (route.method().equals("POST") && path.equals("/v1/chat/completions")) {
            request.contentType("application/json").body(Map.of("model", "no-such-deployment", "messages",
                    List.of(Map.of("role", "user", "content", "Hello"))));
        } else if (route.method().equals("POST") && path.equals("/v1/fine-tuning/jobs")) {
            request.contentType("application/json").body("{}");
        } else if (route.method().equals("POST") && path.startsWith("/v1/models/")) {
            // A comment, which quarantine requires: the unknown version is what answers.
            request.contentType("application/json").body(Map.of("comment", "role matrix"));
        } else if (route.method().equals("POST") && !path.endsWith("/key-rotations")
                && !path.startsWith("/v1/fine-tuning/jobs/") && !path.startsWith("/v1/batches/")) {
            request.contentType("application/json").body(Map.of("name", Gateway.uniqueName("matrix")));
        }
        return request.request(route.method(), path);
    }
}
