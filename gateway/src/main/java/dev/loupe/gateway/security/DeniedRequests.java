package dev.loupe.gateway.security;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.scheduler.Scheduled;
import io.quarkus.security.identity.SecurityIdentity;
import io.smallrye.mutiny.Uni;
import org.eclipse.microprofile.jwt.JsonWebToken;
import org.jboss.logging.Logger;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.governance.v1.AuditActor;
import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.contracts.governance.v1.ResourceRef;
import dev.loupe.support.audit.AuditEventSender;
import dev.loupe.support.audit.AuditEvents;
import dev.loupe.support.grpc.ProtoTime;
import dev.loupe.support.id.Ids;

/**
 * Records every request the gateway refuses (401, 403) as an {@code auth.denied} audit event. A 403 names the
 * verified user and lands in their tenant's chain; a 401 has no identity to trust and lands in the platform
 * chain. The gateway has no database, so events wait in a bounded queue in memory and are sent every second
 * with the gateway's own token: a flood of refused requests cannot exhaust memory (the overflow is counted as
 * dropped), and a gateway crash loses at most the last second of them.
 */
@ApplicationScoped
public class DeniedRequests {
    private static final Logger LOG = Logger.getLogger(DeniedRequests.class);
    static final int CAPACITY = 10_000;
    static final int BATCH = 500;
    private static final String SOURCE = "gateway";

    private final AuditEventSender sender;
    private final MeterRegistry registry;
    private final Deque<AuditEvent> queue = new ArrayDeque<>();
    private Counter dropped;
    private volatile boolean failing;

    public DeniedRequests(AuditEventSender sender, MeterRegistry registry) {
        this.sender = sender;
        this.registry = registry;
    }

    @PostConstruct
    void registerMetrics() {
        registry.gauge("loupe.audit.denied.pending", queue, q -> size());
        dropped = Counter.builder("loupe.audit.denied.dropped")
                .description("auth.denied events dropped because the queue was full")
                .register(registry);
    }

    /**
     * @param identity the verified identity for a 403; null for a 401
     */
    public void record(SecurityIdentity identity, int status, String reason, String method, String path,
            String clientAddress, String requestId) {
        String tenant = identity == null ? null : AuthorizationFilter.tenantOf(identity);
        Actor.Builder actor = Actor.newBuilder();
        if (identity != null && identity.getPrincipal() instanceof JsonWebToken token) {
            actor.setUserId(token.getSubject() == null ? "" : token.getSubject())
                    .setUsername(identity.getPrincipal().getName());
        }
        if (actor.getUserId().isEmpty()) {
            // Nobody we could verify: the event still needs an actor, and this is the truth about it.
            actor.setUserId("anonymous");
        }
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("status", status);
        details.put("reason", reason);
        details.put("method", method);
        details.put("client_address", clientAddress == null ? "" : clientAddress);
        AuditEvent event = AuditEvent.newBuilder()
                .setEventId(Ids.newId().toString())
                .setOccurredAt(ProtoTime.of(Instant.now()))
                .setTenant(tenant == null ? "" : tenant)
                .setActor(AuditActor.newBuilder().setActor(actor))
                .setAction("auth.denied")
                .setResource(ResourceRef.newBuilder().setType("route").setId(truncate(method + " " + path)))
                .setOutcome(Outcome.OUTCOME_DENIED)
                .setRequestId(requestId == null ? "" : requestId)
                .setDetails(AuditEvents.struct(details))
                .setSource(SOURCE)
                .build();
        synchronized (queue) {
            if (queue.size() >= CAPACITY) {
                dropped.increment();
                return;
            }
            queue.addLast(event);
        }
    }

    int size() {
        synchronized (queue) {
            return queue.size();
        }
    }

    /** A copy of the events waiting to be sent, oldest first. */
    List<AuditEvent> pending() {
        synchronized (queue) {
            return List.copyOf(queue);
        }
    }

    @Scheduled(every = "${loupe.gateway.denied-events.flush-interval}", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    Uni<Void> flush() {
        List<AuditEvent> batch = new ArrayList<>();
        synchronized (queue) {
            while (batch.size() < BATCH && !queue.isEmpty()) {
                batch.add(queue.pollFirst());
            }
        }
        if (batch.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        return sender.send(batch)
                .invoke(() -> {
                    if (failing) {
                        failing = false;
                        LOG.info("auth.denied events are delivered again");
                    }
                })
                .onFailure()
                .recoverWithItem(failure -> {
                    putBack(batch);
                    if (!failing) {
                        failing = true;
                        LOG.warnf("auth.denied events wait in memory: delivery failed (%s)", failure.toString());
                    }
                    return null;
                })
                .replaceWithVoid();
    }

    /** Returns a batch that was not delivered to the front of the queue, as far as there is room. */
    private void putBack(List<AuditEvent> batch) {
        synchronized (queue) {
            for (int i = batch.size() - 1; i >= 0; i--) {
                if (queue.size() >= CAPACITY) {
                    dropped.increment(i + 1);
                    return;
                }
                queue.addFirst(batch.get(i));
            }
        }
    }

    private static String truncate(String value) {
        return value.length() <= 256 ? value : value.substring(0, 256);
    }
}
