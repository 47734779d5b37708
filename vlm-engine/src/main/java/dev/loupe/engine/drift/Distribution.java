package dev.loupe.engine.drift;

import java.util.Arrays;

/**
 * A reference distribution in quantile bins, and the population stability index (PSI) of a sample against it.
 * Bin {@code i} holds the values up to {@code edges[i]} (above the previous edge); the last bin holds the values
 * above the last edge. Equal quantiles merge, so a feature the reference always has at one value (every training
 * picture 96 pixels wide) has two bins: that value and below, and above.
 *
 * @param edges ascending, distinct
 * @param fractions the reference's share of each bin, {@code edges.length + 1} of them
 * @param mean the reference's mean, for people reading the figures
 * @param count the reference's sample size
 */
public record Distribution(double[] edges, double[] fractions, double mean, long count) {
    /**
     * Shares below this count as this: an empty bin of the reference that the live sample fills is a large shift,
     * not an infinite one.
     */
    static final double FLOOR = 1e-3;

    public Distribution {
        if (fractions.length != edges.length + 1) {
            throw new IllegalArgumentException("a distribution of " + edges.length + " edges needs "
                    + (edges.length + 1) + " fractions, not " + fractions.length);
        }
        for (int i = 1; i < edges.length; i++) {
            if (!(edges[i] > edges[i - 1])) {
                throw new IllegalArgumentException("edges must ascend");
            }
        }
    }

    /**
     * The reference distribution of a sample: {@code bins} quantile bins at most.
     *
     * @throws IllegalArgumentException when the sample is empty or fewer than 2 bins are asked for
     */
    public static Distribution of(double[] values, int bins) {
        if (values.length == 0 || bins < 2) {
            throw new IllegalArgumentException("a distribution needs values and at least 2 bins");
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        double[] edges = new double[bins - 1];
        int count = 0;
        for (int q = 1; q < bins; q++) {
            // The q-th quantile: the smallest value with at least q/bins of the sample at or below it.
            double edge = sorted[(int) Math.ceil((double) q * sorted.length / bins) - 1];
            if (count == 0 || edge > edges[count - 1]) {
                edges[count++] = edge;
            }
        }
        double[] cut = Arrays.copyOf(edges, count);
        return new Distribution(cut, shares(cut, values), Arrays.stream(values).average().orElse(0), values.length);
    }

    /** The PSI of a sample against this distribution: 0 when alike; above 0.25 is commonly read as a shift. */
    public double psi(double[] sample) {
        double[] live = shares(edges, sample);
        double psi = 0;
        for (int i = 0; i < fractions.length; i++) {
            double expected = Math.max(fractions[i], FLOOR);
            double actual = Math.max(live[i], FLOOR);
            psi += (actual - expected) * Math.log(actual / expected);
        }
        return psi;
    }

    private static double[] shares(double[] edges, double[] values) {
        double[] shares = new double[edges.length + 1];
        for (double value : values) {
            int bin = Arrays.binarySearch(edges, value);
            shares[bin >= 0 ? bin : -bin - 1]++;
        }
        for (int i = 0; i < shares.length; i++) {
            shares[i] /= values.length;
        }
        return shares;
    }
}
