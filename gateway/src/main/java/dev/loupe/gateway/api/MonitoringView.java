package dev.loupe.gateway.api;

import java.time.Instant;
import java.util.List;

import dev.loupe.contracts.serving.v1.DriftEvent;
import dev.loupe.contracts.serving.v1.DriftStatistic;
import dev.loupe.contracts.serving.v1.EvaluationRun;
import dev.loupe.contracts.serving.v1.LatencySummary;
import dev.loupe.contracts.serving.v1.Monitoring;
import dev.loupe.support.grpc.ProtoTime;

/**
 * How a deployment is serving: latencies in milliseconds as percentiles over the last few minutes, rates over the
 * last minute.
 *
 * @param timeToFirstTokenMs from a request's arrival to its first token
 * @param perTokenMs generation time per token after the first
 * @param totalMs from a request's arrival to its last token
 * @param queueDepth requests admitted and not yet answered (waiting for a batch or generating)
 * @param cacheHitRate share of deterministic requests answered from the response cache
 * @param drift live traffic against the training data
 * @param evaluations the latest scheduled evaluations, newest first
 */
public record MonitoringView(String object, String deploymentId, LatencyView timeToFirstTokenMs,
        LatencyView perTokenMs, LatencyView totalMs, double requestsPerSecond, double tokensPerSecond,
        int queueDepth, double cacheHitRate, DriftView drift, List<EvaluationView> evaluations) {

    /**
     * A scheduled evaluation on the deployment's frozen validation version.
     *
     * @param examples examples scored
     * @param failedExamples examples the model could not take
     * @param metrics exact_match, and field or box scores where the expected answers are JSON or boxes
     * @param trainingMetrics the model version's scores on its training job's validation split
     * @param regression whether a score fell below its training-time value by more than the tolerance
     * @param regressed those scores
     */
    public record EvaluationView(String id, Instant ranAt, String datasetVersion, int examples, int failedExamples,
            java.util.Map<String, Double> metrics, java.util.Map<String, Double> trainingMetrics, boolean regression,
            List<String> regressed) {
        static EvaluationView of(EvaluationRun run) {
            return new EvaluationView(run.getId(), ProtoTime.toInstant(run.getRanAt()), run.getDatasetVersionId(),
                    run.getExamples(), run.getFailedExamples(), new java.util.TreeMap<>(run.getMetricsMap()),
                    new java.util.TreeMap<>(run.getTrainingMetricsMap()), run.getRegression(), run.getRegressedList());
        }
    }

    /**
     * Drift of live traffic from the model version's training data.
     *
     * @param monitored whether the version carries a training reference to compare with
     * @param unavailableReason why not, when it does not
     * @param drifting whether a drift event is raised now
     * @param features each feature against the reference
     * @param events the latest drift events, newest first
     */
    public record DriftView(boolean monitored, String unavailableReason, boolean drifting,
            List<FeatureView> features, List<EventView> events) {
        static DriftView of(Monitoring monitoring) {
            return new DriftView(monitoring.getDriftMonitored(), monitoring.getDriftUnavailableReason(),
                    monitoring.getDrifting(), monitoring.getDriftList().stream().map(FeatureView::of).toList(),
                    monitoring.getDriftEventsList().stream().map(EventView::of).toList());
        }
    }

    /**
     * One feature.
     *
     * @param measure {@code psi} (population stability index over the reference's quantile bins) or
     *        {@code rate_increase}
     * @param reference the training data's mean or rate
     * @param live the live window's mean or rate
     * @param score the PSI or the increase; 0 until assessed
     * @param samples values in the live window
     * @param assessed whether they were enough to compare
     */
    public record FeatureView(String name, String measure, double reference, double live, double score,
            double threshold, int samples, boolean assessed, boolean drifting) {
        static FeatureView of(DriftStatistic statistic) {
            return new FeatureView(statistic.getName(), statistic.getMeasure(), statistic.getReference(),
                    statistic.getLive(), statistic.getDistance(), statistic.getThreshold(), statistic.getSamples(),
                    statistic.getAssessed(), statistic.getDrifted());
        }
    }

    /**
     * A drift event.
     *
     * @param kind {@code drift_detected} or {@code drift_cleared}
     * @param features the features as they were compared then
     */
    public record EventView(String id, String kind, Instant occurredAt, List<FeatureView> features) {
        static EventView of(DriftEvent event) {
            return new EventView(event.getId(), event.getKind(), ProtoTime.toInstant(event.getOccurredAt()),
                    event.getFeaturesList().stream().map(FeatureView::of).toList());
        }
    }

    public record LatencyView(double p50, double p95, double p99) {
        static LatencyView of(LatencySummary summary) {
            return new LatencyView(summary.getP50Ms(), summary.getP95Ms(), summary.getP99Ms());
        }
    }

    public static MonitoringView of(Monitoring monitoring) {
        return new MonitoringView("deployment.monitoring", monitoring.getDeploymentId(),
                LatencyView.of(monitoring.getTimeToFirstToken()), LatencyView.of(monitoring.getPerToken()),
                LatencyView.of(monitoring.getTotal()), monitoring.getRequestsPerSecond(),
                monitoring.getTokensPerSecond(), monitoring.getQueueDepth(), monitoring.getCacheHitRate(),
                DriftView.of(monitoring), monitoring.getEvaluationsList().stream().map(EvaluationView::of).toList());
    }
}
