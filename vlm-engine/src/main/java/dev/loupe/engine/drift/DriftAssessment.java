package dev.loupe.engine.drift;

import java.util.List;

/** Live traffic against the training reference, feature by feature. */
public record DriftAssessment(List<FeatureDrift> features) {
    public DriftAssessment {
        features = List.copyOf(features);
    }

    /** Whether any feature drifts. */
    public boolean drifting() {
        return features.stream().anyMatch(FeatureDrift::drifting);
    }

    /** The features that drift. */
    public List<FeatureDrift> drifted() {
        return features.stream().filter(FeatureDrift::drifting).toList();
    }

    /**
     * One feature.
     *
     * @param reference the training data's mean (or rate)
     * @param live the window's mean (or rate); 0 for an empty window
     * @param score the PSI or the rate increase; 0 until assessed
     * @param samples the values in the window
     * @param assessed whether the window held enough values to compare
     */
    public record FeatureDrift(String feature, DriftFeature.Measure measure, double reference, double live,
            double score, double threshold, int samples, boolean assessed, boolean drifting) {
    }
}
