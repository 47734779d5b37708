package dev.loupe.support.audit;

import jakarta.enterprise.context.ApplicationScoped;

import io.quarkus.arc.properties.IfBuildProperty;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * The outbox backlog as a readiness detail. Always UP: a service whose governance-service is down keeps
 * serving, and its events wait; the backlog tells operators how much is waiting and since when.
 */
@Readiness
@ApplicationScoped
@IfBuildProperty(name = "loupe.audit.outbox.enabled", stringValue = "true")
public class OutboxHealthCheck implements HealthCheck {
    private final OutboxRelay relay;

    public OutboxHealthCheck(OutboxRelay relay) {
        this.relay = relay;
    }

    @Override
    public HealthCheckResponse call() {
        OutboxRelay.Backlog backlog = relay.backlog();
        return HealthCheckResponse.named("audit-outbox")
                .up()
                .withData("pending", backlog.pending())
                .withData("parked", backlog.parked())
                .withData("oldest_pending_age_seconds", backlog.oldestPendingAge().toSeconds())
                .build();
    }
}
