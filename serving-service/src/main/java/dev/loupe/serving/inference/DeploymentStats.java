package dev.loupe.serving.inference;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;

import dev.loupe.serving.model.Deployment;

/**
 * A deployment's serving figures, on {@code /q/metrics} (tags {@code deployment}, its name, {@code deployment_id}
 * and {@code tenant}) and in its monitoring
 * answer: latency (time to the first token, per generated token, whole request) with percentiles over the last
 * minutes, requests and tokens per second over the last minute, requests in progress, the cache's hit rate. Tagged
 * by the deployment's id and tenant too.
 */
public final class DeploymentStats {
    private static final Duration WINDOW = Duration.ofMinutes(1);
    private static final double[] PERCENTILES = {0.5, 0.95, 0.99};

    private final MeterRegistry registry;
    private final Timer timeToFirstToken;
    private final Timer perToken;
    private final Timer total;
    private final Counter completionTokens;
    private final Counter cacheHits;
    private final Counter cacheMisses;
    private final List<Meter> meters;
    /** Finish times (nanos) and token counts of the last minute's requests. */
    private final ArrayDeque<long[]> recent = new ArrayDeque<>();

    DeploymentStats(MeterRegistry registry, Deployment deployment, ServedDeployment served) {
        this.registry = registry;
        // By id: names are unique only within a tenant, and two tenants' meters must never be one.
        Tags tags = Tags.of("deployment", deployment.name(), "deployment_id", deployment.id(), "tenant",
                deployment.tenant());
        this.timeToFirstToken = timer("loupe.inference.time.to.first.token", "From arrival to the first token",
                tags);
        this.perToken = timer("loupe.inference.time.per.token", "Generation time per token after the first", tags);
        this.total = timer("loupe.inference.request.duration", "From arrival to the last token", tags);
        this.completionTokens = Counter.builder("loupe.inference.completion.tokens")
                .description("Tokens generated")
                .tags(tags)
                .register(registry);
        this.cacheHits = Counter.builder("loupe.inference.cache.requests").tags(tags.and("result", "hit"))
                .register(registry);
        this.cacheMisses = Counter.builder("loupe.inference.cache.requests").tags(tags.and("result", "miss"))
                .register(registry);
        Gauge inFlight = Gauge.builder("loupe.inference.requests.in.progress", served,
                (ToDoubleFunction<ServedDeployment>) ServedDeployment::inFlight)
                .description("Requests admitted and not yet answered (waiting or generating)")
                .tags(tags)
                .register(registry);
        this.meters = List.of(timeToFirstToken, perToken, total, completionTokens, cacheHits, cacheMisses, inFlight);
    }

    private Timer timer(String name, String description, Tags tags) {
        return Timer.builder(name)
                .description(description)
                .tags(tags)
                .publishPercentiles(PERCENTILES)
                .publishPercentileHistogram()
                .register(registry);
    }

    /** Records a generated answer. */
    void generated(CompletionResult result) {
        timeToFirstToken.record(result.timeToFirstToken());
        total.record(result.total());
        if (result.completionTokens() > 1) {
            perToken.record(result.total().minus(result.timeToFirstToken()).dividedBy(result.completionTokens() - 1));
        }
        completionTokens.increment(result.completionTokens());
        remember(result.completionTokens());
    }

    /** Records an answer from the cache. */
    public void cacheHit() {
        cacheHits.increment();
        remember(0);
    }

    public void cacheMiss() {
        cacheMisses.increment();
    }

    private synchronized void remember(int tokens) {
        long now = System.nanoTime();
        recent.addLast(new long[]{now, tokens});
        forgetOld(now);
    }

    private void forgetOld(long now) {
        while (!recent.isEmpty() && now - recent.peekFirst()[0] > WINDOW.toNanos()) {
            recent.removeFirst();
        }
    }

    /** Latency percentiles (milliseconds) of one measure: p50, p95, p99. */
    public record Latency(double p50, double p95, double p99) {
    }

    /** The figures of the monitoring answer. */
    public record Summary(Latency timeToFirstToken, Latency perToken, Latency total, double requestsPerSecond,
            double tokensPerSecond, double cacheHitRate) {
    }

    public synchronized Summary summary() {
        forgetOld(System.nanoTime());
        double seconds = WINDOW.toSeconds();
        long tokens = recent.stream().mapToLong(entry -> entry[1]).sum();
        double lookups = cacheHits.count() + cacheMisses.count();
        return new Summary(latency(timeToFirstToken), latency(perToken), latency(total), recent.size() / seconds,
                tokens / seconds, lookups == 0 ? 0 : cacheHits.count() / lookups);
    }

    private static Latency latency(Timer timer) {
        Map<Double, Double> values = new java.util.HashMap<>();
        for (ValueAtPercentile value : timer.takeSnapshot().percentileValues()) {
            values.put(value.percentile(), value.value(TimeUnit.MILLISECONDS));
        }
        return new Latency(values.getOrDefault(0.5, 0.0), values.getOrDefault(0.95, 0.0),
                values.getOrDefault(0.99, 0.0));
    }

    /** Removes the deployment's meters (it was unloaded). */
    void close() {
        meters.forEach(registry::remove);
    }
}
