package dev.loupe.gateway.api;

import java.util.Map;
import java.util.TreeMap;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import dev.loupe.contracts.dataset.v1.DatasetStats;
import dev.loupe.contracts.dataset.v1.Histogram;

/**
 * Statistics of a dataset's current records or of a version. Histograms list bucket upper bounds and counts, with
 * one more count than bounds for the values above the last bound.
 */
@Schema(name = "DatasetStats")
public record DatasetStatsView(String object, long recordCount, long imageCount, HistogramView imagesPerRecord,
        HistogramView imageWidth, HistogramView imageHeight, HistogramView imageAspectRatio,
        HistogramView imageBytes, HistogramView estimatedTokens, HistogramView textCharacters,
        HistogramView turnsPerRecord, Map<String, Long> mediaTypes, Map<String, Long> annotationTypes,
        Map<String, Long> boxLabels, long duplicatesSkipped, long linesRejected,
        Map<String, Long> rejectedLinesByCode) {

    /** {@code counts[i]} counts the values above {@code upperBounds[i-1]} and at most {@code upperBounds[i]}. */
    @Schema(name = "Histogram")
    public record HistogramView(double[] upperBounds, long[] counts) {

        static HistogramView of(Histogram histogram) {
            return new HistogramView(histogram.getBucketUpperBoundsList().stream().mapToDouble(Double::doubleValue)
                    .toArray(), histogram.getCountsList().stream().mapToLong(Long::longValue).toArray());
        }
    }

    public static DatasetStatsView of(DatasetStats stats) {
        return new DatasetStatsView("dataset.stats", stats.getRecordCount(), stats.getImageCount(),
                HistogramView.of(stats.getImagesPerRecord()), HistogramView.of(stats.getImageWidth()),
                HistogramView.of(stats.getImageHeight()), HistogramView.of(stats.getImageAspectRatio()),
                HistogramView.of(stats.getImageBytes()), HistogramView.of(stats.getEstimatedTokens()),
                HistogramView.of(stats.getTextCharacters()), HistogramView.of(stats.getTurnsPerRecord()),
                new TreeMap<>(stats.getMediaTypesMap()), new TreeMap<>(stats.getAnnotationTypesMap()),
                new TreeMap<>(stats.getBoxLabelsMap()), stats.getDuplicatesSkipped(), stats.getLinesRejected(),
                new TreeMap<>(stats.getRejectedLinesByCodeMap()));
    }
}
