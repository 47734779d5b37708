package dev.loupe.system;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.restassured.response.Response;
import org.junit.jupiter.api.Test;

import static dev.loupe.system.Gateway.as;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Nothing acknowledged is lost: while the dataset-service performs 1,000 audited operations, the
 * governance-service is killed (SIGKILL) and started again, twice. Afterwards every event is in the chain
 * exactly once and the chain verifies.
 */
class AuditLossIT {
    private static final int OPERATIONS = Integer.getInteger("loupe.test.audit-loss-operations", 1000);
    private static final String GOVERNANCE = "governance-service";

    @Test
    void everyEventLandsOnceThoughTheGovernanceServiceIsKilledTwice() throws Exception {
        Instant start = Instant.now();
        Set<String> created = new HashSet<>();
        CompletableFuture<Void> restarts = CompletableFuture.completedFuture(null);
        for (int i = 0; i < OPERATIONS; i++) {
            if (i == OPERATIONS * 3 / 10 || i == OPERATIONS * 65 / 100) {
                // The previous restart must be over before the next kill; operations go on meanwhile.
                restarts.get(3, TimeUnit.MINUTES);
                StackServices.kill(GOVERNANCE);
                restarts = CompletableFuture.runAsync(() -> StackServices.start(GOVERNANCE));
            }
            created.add(Gateway.createDataset("globex-steward", Gateway.uniqueName("loss")));
        }
        restarts.get(3, TimeUnit.MINUTES);
        assertEquals(OPERATIONS, created.size());

        List<String> recorded = recordedCreations(start, Duration.ofMinutes(2));
        assertEquals(OPERATIONS, recorded.size(), "each operation's event once");
        assertEquals(created, new HashSet<>(recorded));
        as("globex-compliance").get("/v1/audit/verify").then().statusCode(200).body("valid", equalTo(true));
    }

    /** The dataset ids of every dataset.created event since {@code start}, once all have arrived. */
    private static List<String> recordedCreations(Instant start, Duration patience) throws InterruptedException {
        Instant deadline = Instant.now().plus(patience);
        List<String> ids;
        do {
            ids = new ArrayList<>();
            String after = null;
            do {
                var request = as("globex-compliance").queryParam("action_prefix", "dataset.created")
                        .queryParam("actor", "globex-steward")
                        .queryParam("from", start.toString())
                        .queryParam("limit", 100);
                if (after != null) {
                    request.queryParam("after", after);
                }
                Response page = request.get("/v1/audit/events").then().statusCode(200).extract().response();
                List<Map<String, Object>> data = page.path("data");
                for (Map<String, Object> entry : data) {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> resource = (Map<String, Object>) entry.get("resource");
                    ids.add((String) resource.get("id"));
                }
                after = page.path("next_after");
            } while (after != null);
            if (ids.size() >= OPERATIONS) {
                return ids;
            }
            Thread.sleep(500);
        } while (Instant.now().isBefore(deadline));
        return ids;
    }
}
