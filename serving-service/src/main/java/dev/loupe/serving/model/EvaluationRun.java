package dev.loupe.serving.model;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A scheduled evaluation of a deployment on its frozen validation version.
 *
 * @param examples examples scored
 * @param failedExamples examples the model could not take (not scored)
 * @param metrics exact_match and the answer scores the expected answers allow
 * @param trainingMetrics the model version's scores on its training job's validation split
 * @param regressed the metrics below their training-time value by more than the tolerance
 */
public record EvaluationRun(String id, String tenant, String deploymentId, String datasetVersionId, Instant ranAt,
        int examples, int failedExamples, Map<String, Double> metrics, Map<String, Double> trainingMetrics,
        List<String> regressed) {
    public EvaluationRun {
        metrics = Map.copyOf(metrics);
        trainingMetrics = Map.copyOf(trainingMetrics);
        regressed = List.copyOf(regressed);
    }

    public boolean regression() {
        return !regressed.isEmpty();
    }
}
