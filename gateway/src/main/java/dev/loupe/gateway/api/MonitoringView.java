package dev.loupe.gateway.api;

import dev.loupe.contracts.serving.v1.LatencySummary;
import dev.loupe.contracts.serving.v1.Monitoring;

/**
 * How a deployment is serving: latencies in milliseconds as percentiles over the last few minutes, rates over the
 * last minute.
 *
 * @param timeToFirstTokenMs from a request's arrival to its first token
 * @param perTokenMs generation time per token after the first
 * @param totalMs from a request's arrival to its last token
 * @param queueDepth requests admitted and not yet answered (waiting for a batch or generating)
 * @param cacheHitRate share of deterministic requests answered from the response cache
 */
public record MonitoringView(String object, String deploymentId, LatencyView timeToFirstTokenMs,
        LatencyView perTokenMs, LatencyView totalMs, double requestsPerSecond, double tokensPerSecond,
        int queueDepth, double cacheHitRate) {

    public record LatencyView(double p50, double p95, double p99) {
        static LatencyView of(LatencySummary summary) {
            return new LatencyView(summary.getP50Ms(), summary.getP95Ms(), summary.getP99Ms());
        }
    }

    public static MonitoringView of(Monitoring monitoring) {
        return new MonitoringView("deployment.monitoring", monitoring.getDeploymentId(),
                LatencyView.of(monitoring.getTimeToFirstToken()), LatencyView.of(monitoring.getPerToken()),
                LatencyView.of(monitoring.getTotal()), monitoring.getRequestsPerSecond(),
                monitoring.getTokensPerSecond(), monitoring.getQueueDepth(), monitoring.getCacheHitRate());
    }
}
