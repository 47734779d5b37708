package dev.loupe.serving.model;

import java.time.Instant;
import java.util.List;

import dev.loupe.engine.drift.DriftAssessment;

/**
 * A deployment's live traffic started or stopped differing from its training data.
 *
 * @param kind {@link #DETECTED} or {@link #CLEARED}
 * @param features every feature as it was compared at that moment
 */
public record DriftEvent(String id, String tenant, String deploymentId, String kind,
        List<DriftAssessment.FeatureDrift> features, Instant occurredAt) {
    public static final String DETECTED = "drift_detected";
    public static final String CLEARED = "drift_cleared";

    public DriftEvent {
        features = List.copyOf(features);
    }
}
