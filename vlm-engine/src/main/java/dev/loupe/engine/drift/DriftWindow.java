package dev.loupe.engine.drift;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The last values of live traffic, feature by feature, and their comparison with the training reference. Each
 * feature keeps its own sliding window of {@code size} values (pictures, or answers). Thread-safe.
 */
public final class DriftWindow {
    private final DriftReference reference;
    private final int size;
    private final Map<DriftFeature, Ring> values = new EnumMap<>(DriftFeature.class);

    public DriftWindow(DriftReference reference, int size) {
        if (size < 1) {
            throw new IllegalArgumentException("a window holds at least one value");
        }
        this.reference = reference;
        this.size = size;
    }

    public DriftReference reference() {
        return reference;
    }

    public synchronized void addImage(ImageStatistics statistics) {
        add(DriftFeature.IMAGE_BRIGHTNESS, statistics.brightness());
        add(DriftFeature.IMAGE_CONTRAST, statistics.contrast());
        add(DriftFeature.IMAGE_WIDTH, statistics.width());
        add(DriftFeature.IMAGE_HEIGHT, statistics.height());
        add(DriftFeature.IMAGE_ASPECT_RATIO, statistics.aspectRatio());
    }

    /** @param features a live picture's unit vector (see {@link ImageEmbeddings}), of the reference's width */
    public synchronized void addEmbedding(float[] features) {
        if (features.length == reference.embeddingCentroid().length) {
            add(DriftFeature.IMAGE_EMBEDDING_DISTANCE, reference.distance(features));
        }
    }

    /**
     * An answer the model gave.
     *
     * @param ended whether it ended by itself; the length of an answer cut off at a token limit says nothing of the
     *        model's answers
     */
    public synchronized void addAnswer(int tokens, String text, boolean ended) {
        if (ended) {
            add(DriftFeature.OUTPUT_TOKENS, tokens);
        }
        add(DriftFeature.OUTPUT_REFUSAL_RATE, AnswerForms.isRefusal(text) ? 1 : 0);
        add(DriftFeature.OUTPUT_PARSE_FAILURE_RATE, AnswerForms.isJson(text) ? 0 : 1);
    }

    private void add(DriftFeature feature, double value) {
        values.computeIfAbsent(feature, f -> new Ring(size)).add(value);
    }

    /**
     * Compares the window with the reference: each feature the reference describes, assessed once its window holds
     * {@code minSamples} values.
     *
     * @param psiThreshold a distribution drifts at or above this PSI
     * @param rateThreshold a rate drifts when it exceeds the reference's by at least this
     */
    public synchronized DriftAssessment assess(int minSamples, double psiThreshold, double rateThreshold) {
        List<DriftAssessment.FeatureDrift> features = new ArrayList<>();
        for (DriftFeature feature : DriftFeature.values()) {
            double[] live = Optional.ofNullable(values.get(feature)).map(Ring::values).orElse(new double[0]);
            boolean enough = live.length >= minSamples;
            double liveMean = live.length == 0 ? 0 : Arrays.stream(live).average().orElse(0);
            if (feature.measure() == DriftFeature.Measure.PSI) {
                Optional<Distribution> expected = reference.distribution(feature);
                if (expected.isEmpty()) {
                    continue;
                }
                double psi = enough ? expected.get().psi(live) : 0;
                features.add(new DriftAssessment.FeatureDrift(feature.key(), feature.measure(),
                        expected.get().mean(), liveMean, psi, psiThreshold, live.length, enough,
                        enough && psi >= psiThreshold));
            } else {
                Optional<Double> expected = reference.rate(feature);
                if (expected.isEmpty()) {
                    continue;
                }
                double increase = enough ? liveMean - expected.get() : 0;
                features.add(new DriftAssessment.FeatureDrift(feature.key(), feature.measure(), expected.get(),
                        liveMean, increase, rateThreshold, live.length, enough, enough && increase >= rateThreshold));
            }
        }
        return new DriftAssessment(features);
    }

    /** The last values of one feature. */
    private static final class Ring {
        private final double[] values;
        private int next;
        private int count;

        Ring(int size) {
            values = new double[size];
        }

        void add(double value) {
            values[next] = value;
            next = (next + 1) % values.length;
            count = Math.min(count + 1, values.length);
        }

        double[] values() {
            double[] copy = new double[count];
            for (int i = 0; i < count; i++) {
                copy[i] = values[(next - count + i + values.length) % values.length];
            }
            return copy;
        }
    }
}
