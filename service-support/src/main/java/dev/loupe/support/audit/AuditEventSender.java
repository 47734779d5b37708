package dev.loupe.support.audit;

import java.util.List;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;

import io.quarkus.grpc.GrpcClient;
import io.smallrye.mutiny.Uni;

import dev.loupe.contracts.governance.v1.AppendEventsRequest;
import dev.loupe.contracts.governance.v1.AppendEventsResponse;
import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.contracts.governance.v1.MutinyAuditServiceGrpc.MutinyAuditServiceStub;
import dev.loupe.support.grpc.BearerCallCredentials;

/**
 * Sends audit events to the governance-service's {@code AppendEvents} with this service's own token, under the
 * configured deadline. The outbox relay and the gateway's refused-request queue both deliver through it.
 */
@ApplicationScoped
public class AuditEventSender {
    private final MutinyAuditServiceStub governance;
    private final ServiceAccountTokens tokens;
    private final OutboxConfig config;

    public AuditEventSender(@GrpcClient("governance") MutinyAuditServiceStub governance, ServiceAccountTokens tokens,
            OutboxConfig config) {
        this.governance = governance;
        this.tokens = tokens;
        this.config = config;
    }

    public Uni<AppendEventsResponse> send(List<AuditEvent> events) {
        AppendEventsRequest request = AppendEventsRequest.newBuilder().addAllEvents(events).build();
        return tokens.token()
                .chain(token -> governance.withCallCredentials(new BearerCallCredentials(token, null))
                        .withDeadlineAfter(config.deadline().toMillis(), TimeUnit.MILLISECONDS)
                        .appendEvents(request));
    }
}
