package dev.loupe.governance;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import jakarta.inject.Inject;

import io.quarkus.test.junit.QuarkusTest;
import io.vertx.mutiny.sqlclient.Pool;
import org.junit.jupiter.api.Test;

import dev.loupe.audit.AuditEntry;
import dev.loupe.audit.AuditEvent;
import dev.loupe.governance.repository.AuditChainRepository;
import dev.loupe.governance.service.AuditChainService;

/**
 * Prints the durable append rate of the audit chain and its latency per batch, next to raw INSERTs of the same
 * rows into the same table without hashing or chaining. A benchmark, not a test: it asserts nothing, and its name
 * keeps it out of the normal test run: {@code deploy/local/test.sh -pl governance-service -am
 * -Dtest=AuditAppendBenchmark -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@QuarkusTest
class AuditAppendBenchmark {
    private static final Duration WAIT = Duration.ofMinutes(5);
    private static final int ROUNDS = 3;

    @Inject
    AuditChainService chains;
    @Inject
    AuditChainRepository repository;
    @Inject
    Pool pool;

    /** Rate and per-batch latencies of one measured run. */
    private record Run(double eventsPerSecond, long[] sortedLatencies) {
        double percentileMillis(int percentile) {
            return sortedLatencies[Math.min(sortedLatencies.length - 1, sortedLatencies.length * percentile / 100)]
                    / 1e6;
        }
    }

    @Test
    void appendRates() {
        String synchronousCommit = pool.query("SHOW synchronous_commit")
                .execute()
                .await()
                .atMost(WAIT)
                .iterator()
                .next()
                .getString(0);
        System.out.printf("%nAudit append benchmark (synchronous_commit=%s, %d cores)%n", synchronousCommit,
                Runtime.getRuntime().availableProcessors());
        chainAppends(10, 5_000); // warm-up
        rawInserts(100, 5_000);

        for (int batch : new int[]{1, 10}) {
            Run run = chainAppends(batch, batch * 1_000);
            System.out.printf("chain append, batches of %3d: %,8.0f events/s, p50 %.2f ms, p99 %.2f ms per batch%n",
                    batch, run.eventsPerSecond(), run.percentileMillis(50), run.percentileMillis(99));
        }
        // Batches of 100 alternate with raw inserts, so that disk and CPU noise hit both alike.
        double[] chain = new double[ROUNDS];
        double[] raw = new double[ROUNDS];
        for (int round = 0; round < ROUNDS; round++) {
            raw[round] = rawInserts(100, 20_000).eventsPerSecond();
            Run run = chainAppends(100, 20_000);
            chain[round] = run.eventsPerSecond();
            System.out.printf("round %d: raw INSERT %,8.0f events/s | chain append, batches of 100: %,8.0f events/s,"
                    + " p50 %.2f ms, p99 %.2f ms per batch%n", round + 1, raw[round], chain[round],
                    run.percentileMillis(50), run.percentileMillis(99));
        }
        double medianChain = median(chain);
        double medianRaw = median(raw);
        System.out.printf("median of %d rounds: raw %,.0f events/s, chain %,.0f events/s: hashing and chaining cost"
                + " %.0f%%%n", ROUNDS, medianRaw, medianChain, 100 * (1 - medianChain / medianRaw));
    }

    private Run chainAppends(int batch, int total) {
        String tenant = AuditEventsFixture.freshTenant();
        long[] latencies = new long[total / batch];
        long started = System.nanoTime();
        for (int i = 0; i < latencies.length; i++) {
            List<AuditEvent> events = AuditEventsFixture.storedEvents(tenant, batch);
            long t0 = System.nanoTime();
            chains.append(events).await().atMost(WAIT);
            latencies[i] = System.nanoTime() - t0;
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        var verification = chains.verify(tenant, 0, 0).await().atMost(WAIT);
        if (!verification.valid() || verification.checked() != total) {
            throw new IllegalStateException("benchmark chain does not verify: " + verification);
        }
        Arrays.sort(latencies);
        return new Run(total / seconds, latencies);
    }

    /** The same INSERT statement, one transaction per batch, without head lock, duplicate check or hashing. */
    private Run rawInserts(int batch, int total) {
        String chain = "raw-" + AuditEventsFixture.freshTenant();
        long seq = 0;
        long[] latencies = new long[total / batch];
        long started = System.nanoTime();
        for (int i = 0; i < latencies.length; i++) {
            List<AuditEntry> entries = new ArrayList<>(batch);
            Instant now = Instant.now().truncatedTo(ChronoUnit.MICROS);
            for (AuditEvent event : AuditEventsFixture.storedEvents("raw", batch)) {
                seq++;
                entries.add(new AuditEntry(chain, seq, event, now, "0".repeat(64), "1".repeat(64)));
            }
            long t0 = System.nanoTime();
            pool.withTransaction(transaction -> repository.insertNew(transaction, entries)).await().atMost(WAIT);
            latencies[i] = System.nanoTime() - t0;
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        Arrays.sort(latencies);
        return new Run(total / seconds, latencies);
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
