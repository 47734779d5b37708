package dev.loupe.support.audit;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;

import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.arc.properties.IfBuildProperty;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.SqlClient;
import io.vertx.mutiny.sqlclient.Tuple;
import org.jboss.logging.Logger;

import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.support.error.GrpcProblems;

/**
 * Delivers the outbox to the governance-service: takes the oldest pending events (row-locked, so that several
 * replicas share the work), sends them in one {@code AppendEvents} call with this service's own token, and
 * deletes them in the same transaction once the governance-service answered. Delivery is at least once (a
 * crash after the append and before the commit sends them again) and the governance-service appends each
 * event id once. While the governance-service is down, events wait here and the service works on.
 */
@ApplicationScoped
@IfBuildProperty(name = "loupe.audit.outbox.enabled", stringValue = "true")
public class OutboxRelay {
    private static final Logger LOG = Logger.getLogger(OutboxRelay.class);
    private static final Pattern EVENT_INDEX = Pattern.compile("^events\\[(\\d+)]");

    /** What the outbox holds, refreshed after every round. */
    public record Backlog(long pending, long parked, Duration oldestPendingAge) {
    }

    private record Pending(long id, AuditEvent event) {
    }

    private final Pool pool;
    private final AuditEventSender sender;
    private final OutboxConfig config;
    private final MeterRegistry registry;
    private final AtomicLong pending = new AtomicLong();
    private final AtomicLong parked = new AtomicLong();
    private final AtomicLong oldestAgeMillis = new AtomicLong();
    private Counter delivered;
    private volatile boolean failing;

    public OutboxRelay(Pool pool, AuditEventSender sender, OutboxConfig config, MeterRegistry registry) {
        this.pool = pool;
        this.sender = sender;
        this.config = config;
        this.registry = registry;
    }

    @PostConstruct
    void registerMetrics() {
        Gauge.builder("loupe.audit.outbox.pending", pending, AtomicLong::get)
                .description("Audit events waiting for delivery to the governance-service")
                .register(registry);
        Gauge.builder("loupe.audit.outbox.parked", parked, AtomicLong::get)
                .description("Audit events the governance-service refused as invalid, kept for an operator")
                .register(registry);
        Gauge.builder("loupe.audit.outbox.oldest.age", oldestAgeMillis, age -> age.get() / 1000.0)
                .baseUnit("seconds")
                .description("Age of the oldest audit event waiting for delivery")
                .register(registry);
        delivered = Counter.builder("loupe.audit.outbox.delivered")
                .description("Audit events the governance-service acknowledged")
                .register(registry);
    }

    public Backlog backlog() {
        return new Backlog(pending.get(), parked.get(), Duration.ofMillis(oldestAgeMillis.get()));
    }

    @Scheduled(every = "${loupe.audit.outbox.poll-interval:1S}", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    public Uni<Void> relay() {
        return relayUntilEmpty()
                .onItemOrFailure()
                .transformToUni((ignored, failure) -> {
                    if (failure != null && !failing) {
                        failing = true;
                        LOG.warnf("Audit events wait in the outbox: delivery to the governance-service failed (%s)",
                                failure.toString());
                    } else if (failure == null && failing) {
                        failing = false;
                        LOG.info("Audit event delivery to the governance-service resumed");
                    }
                    return refreshBacklog();
                });
    }

    /** Sends batches until one comes back short; how many events were delivered. */
    public Uni<Long> relayUntilEmpty() {
        return relayBatch().chain(sent -> sent < config.batchSize()
                ? Uni.createFrom().item((long) sent)
                : relayUntilEmpty().map(more -> more + sent));
    }

    private Uni<Integer> relayBatch() {
        return pool.withTransaction(transaction -> transaction
                .preparedQuery("SELECT id, payload FROM audit_outbox WHERE parked_at IS NULL ORDER BY id LIMIT $1"
                        + " FOR UPDATE SKIP LOCKED")
                .execute(Tuple.of(config.batchSize()))
                .chain(rows -> {
                    List<Pending> batch = new ArrayList<>();
                    for (Row row : rows) {
                        batch.add(new Pending(row.getLong("id"), parse(row)));
                    }
                    return batch.isEmpty() ? Uni.createFrom().item(0) : send(transaction, batch);
                }));
    }

    private Uni<Integer> send(SqlClient transaction, List<Pending> batch) {
        Long[] ids = batch.stream().map(Pending::id).toArray(Long[]::new);
        return sender.send(batch.stream().map(Pending::event).toList())
                .chain(answer -> transaction.preparedQuery("DELETE FROM audit_outbox WHERE id = ANY($1)")
                        .execute(Tuple.of(ids))
                        .invoke(() -> delivered.increment(batch.size()))
                        .replaceWith(batch.size()))
                .onFailure(OutboxRelay::refusedAsInvalid)
                .recoverWithUni(failure -> park(transaction, batch, (StatusRuntimeException) failure));
    }

    private static boolean refusedAsInvalid(Throwable failure) {
        return failure instanceof StatusRuntimeException status
                && status.getStatus().getCode() == Status.Code.INVALID_ARGUMENT;
    }

    /**
     * Sets aside the event the governance-service named as invalid, so that one bad event (a bug in its
     * producer) does not hold back every event after it. The others go in the next round.
     */
    private Uni<Integer> park(SqlClient transaction, List<Pending> batch, StatusRuntimeException refusal) {
        String field = GrpcProblems.fromStatus(refusal).field().orElse("");
        Matcher index = EVENT_INDEX.matcher(field);
        // Without an index the whole batch is suspect; parking all of it keeps every event for inspection.
        List<Pending> bad = index.find() && Integer.parseInt(index.group(1)) < batch.size()
                ? List.of(batch.get(Integer.parseInt(index.group(1))))
                : batch;
        String error = field + ": " + refusal.getStatus().getDescription();
        LOG.errorf("The governance-service refused %d audit event(s) as invalid (%s); they are parked in the outbox",
                bad.size(), error);
        return transaction
                .preparedQuery("UPDATE audit_outbox SET parked_at = now(), attempts = attempts + 1, last_error = $2"
                        + " WHERE id = ANY($1)")
                .execute(Tuple.of(bad.stream().map(Pending::id).toArray(Long[]::new), error))
                .replaceWith(0);
    }

    private static AuditEvent parse(Row row) {
        try {
            return AuditEvent.parseFrom(row.getBuffer("payload").getBytes());
        } catch (InvalidProtocolBufferException e) {
            // The service wrote it; an unreadable row is sent empty and parked by the governance's refusal.
            return AuditEvent.getDefaultInstance();
        }
    }

    private Uni<Void> refreshBacklog() {
        return pool.query("SELECT count(*) FILTER (WHERE parked_at IS NULL) AS pending,"
                + " count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked,"
                + " min(created_at) FILTER (WHERE parked_at IS NULL) AS oldest FROM audit_outbox")
                .execute()
                .invoke(rows -> {
                    Row row = rows.iterator().next();
                    pending.set(row.getLong("pending"));
                    parked.set(row.getLong("parked"));
                    OffsetDateTime oldest = row.getOffsetDateTime("oldest");
                    oldestAgeMillis.set(oldest == null
                            ? 0
                            : Math.max(0, Duration.between(oldest.toInstant(), Instant.now()).toMillis()));
                })
                .onFailure()
                .recoverWithNull()
                .replaceWithVoid();
    }
}
