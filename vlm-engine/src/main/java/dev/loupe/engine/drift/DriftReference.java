package dev.loupe.engine.drift;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * What a training run saw, as drift monitoring compares it with live traffic: the distributions of its pictures'
 * statistics and of their vision features' distance from the mean direction, the lengths of its answers, and how
 * often its answers were JSON or refusals. It holds no picture and no text. A fine-tuned version carries it as
 * {@link #FILE} beside its weights.
 *
 * @param images the pictures measured
 * @param answers the answers measured
 * @param distributions by {@link DriftFeature#key()}; a feature with too few values has none
 * @param embeddingCentroid the unit-length mean direction of the pictures' vision features; empty without features
 * @param rates by {@link DriftFeature#key()}: the reference rates of the rate features that apply
 */
public record DriftReference(int images, int answers, Map<String, Distribution> distributions,
        @JsonProperty("embedding_centroid") float[] embeddingCentroid, Map<String, Double> rates) {
    public static final String FILE = "drift_reference.json";
    /** Quantile bins of each distribution. */
    static final int BINS = 10;
    /** Fewer values than this make no reference distribution or rate: its bins would be noise. */
    static final int MIN_VALUES = 20;
    /** Where at least this share of the training answers is JSON, an answer that is not counts as a failure. */
    static final double JSON_TASK_SHARE = 0.5;
    private static final ObjectMapper JSON = new ObjectMapper();

    public DriftReference {
        // Sorted, not Map.copyOf: its iteration order changes from one JVM to the next, and the file's bytes must
        // not (a resumed run ends with the same artifact, bit for bit, as one never interrupted).
        distributions = Collections.unmodifiableSortedMap(new TreeMap<>(distributions));
        rates = Collections.unmodifiableSortedMap(new TreeMap<>(rates));
        embeddingCentroid = embeddingCentroid == null ? new float[0] : embeddingCentroid.clone();
    }

    public Optional<Distribution> distribution(DriftFeature feature) {
        return Optional.ofNullable(distributions.get(feature.key()));
    }

    public Optional<Double> rate(DriftFeature feature) {
        return Optional.ofNullable(rates.get(feature.key()));
    }

    public byte[] toJson() {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(this);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Reads a reference.
     *
     * @throws IOException when it is not one
     */
    public static DriftReference fromJson(byte[] json) throws IOException {
        try {
            DriftReference reference = JSON.readValue(json, DriftReference.class);
            if (reference.distributions() == null || reference.rates() == null) {
                throw new IOException("a drift reference needs distributions and rates");
            }
            return reference;
        } catch (IllegalArgumentException e) {
            throw new IOException("not a drift reference: " + e.getMessage(), e);
        }
    }

    /** The cosine distance of unit-length features from the centroid. */
    double distance(float[] features) {
        double dot = 0;
        for (int i = 0; i < features.length; i++) {
            dot += features[i] * embeddingCentroid[i];
        }
        return 1 - dot;
    }

    /** Collects a training run's measurements; not thread-safe. */
    public static final class Builder {
        private final Map<DriftFeature, List<Double>> values = new EnumMap<>(DriftFeature.class);
        private final List<float[]> embeddings = new ArrayList<>();
        private int images;
        private int answers;
        private int jsonAnswers;
        private int refusals;

        public Builder addImage(ImageStatistics statistics) {
            images++;
            add(DriftFeature.IMAGE_BRIGHTNESS, statistics.brightness());
            add(DriftFeature.IMAGE_CONTRAST, statistics.contrast());
            add(DriftFeature.IMAGE_WIDTH, statistics.width());
            add(DriftFeature.IMAGE_HEIGHT, statistics.height());
            add(DriftFeature.IMAGE_ASPECT_RATIO, statistics.aspectRatio());
            return this;
        }

        /** @param features unit-length vision features of one picture (see {@link ImageEmbeddings}) */
        public Builder addEmbedding(float[] features) {
            embeddings.add(features.clone());
            return this;
        }

        /** An answer the model was taught, and its length in tokens. */
        public Builder addAnswer(int tokens, String text) {
            answers++;
            add(DriftFeature.OUTPUT_TOKENS, tokens);
            jsonAnswers += AnswerForms.isJson(text) ? 1 : 0;
            refusals += AnswerForms.isRefusal(text) ? 1 : 0;
            return this;
        }

        private void add(DriftFeature feature, double value) {
            values.computeIfAbsent(feature, f -> new ArrayList<>()).add(value);
        }

        public DriftReference build() {
            float[] centroid = new float[0];
            if (embeddings.size() >= MIN_VALUES) {
                centroid = unitMean(embeddings);
            }
            Map<String, Distribution> distributions = new LinkedHashMap<>();
            values.forEach((feature, list) -> {
                if (list.size() >= MIN_VALUES) {
                    distributions.put(feature.key(), Distribution.of(list.stream().mapToDouble(d -> d).toArray(),
                            BINS));
                }
            });
            Map<String, Double> rates = new LinkedHashMap<>();
            if (answers >= MIN_VALUES) {
                rates.put(DriftFeature.OUTPUT_REFUSAL_RATE.key(), (double) refusals / answers);
                double jsonShare = (double) jsonAnswers / answers;
                if (jsonShare >= JSON_TASK_SHARE) {
                    rates.put(DriftFeature.OUTPUT_PARSE_FAILURE_RATE.key(), 1 - jsonShare);
                }
            }
            DriftReference partial = new DriftReference(images, answers, distributions, centroid, rates);
            if (centroid.length > 0) {
                double[] distances = embeddings.stream().mapToDouble(partial::distance).toArray();
                distributions.put(DriftFeature.IMAGE_EMBEDDING_DISTANCE.key(), Distribution.of(distances, BINS));
            }
            return new DriftReference(images, answers, distributions, centroid, rates);
        }

        private static float[] unitMean(List<float[]> vectors) {
            double[] sum = new double[vectors.get(0).length];
            for (float[] vector : vectors) {
                for (int i = 0; i < sum.length; i++) {
                    sum[i] += vector[i];
                }
            }
            double norm = Math.sqrt(Arrays.stream(sum).map(v -> v * v).sum());
            float[] mean = new float[sum.length];
            for (int i = 0; i < sum.length; i++) {
                mean[i] = (float) (norm > 0 ? sum[i] / norm : 0);
            }
            return mean;
        }
    }
}
