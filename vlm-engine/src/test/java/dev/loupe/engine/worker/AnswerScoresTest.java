package dev.loupe.engine.worker;

import java.util.Map;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AnswerScoresTest {

    @Test
    void structuredAnswersAreScoredFieldByField() {
        AnswerScores scores = new AnswerScores();
        // 3 expected pairs, 3 generated, 2 right (12.50 equals 12.5; the colour list counts as a multiset).
        scores.add("{\"total\": 12.50, \"colours\": [\"red\", \"blue\"]}",
                "{\"total\": 12.5, \"colours\": [\"red\", \"green\"]}");
        // Not JSON: its 2 expected pairs are missed.
        scores.add("a red circle", "{\"shape\": \"circle\", \"colour\": \"red\"}");
        Map<String, Double> metrics = scores.metrics();

        assertEquals(2.0 / 3, metrics.get("field_precision"), 1e-12);
        assertEquals(2.0 / 5, metrics.get("field_recall"), 1e-12);
        assertEquals(2 * (2.0 / 3) * (2.0 / 5) / (2.0 / 3 + 2.0 / 5), metrics.get("field_f1"), 1e-12);
        assertEquals(0.5, metrics.get("json_valid"));
        assertNull(metrics.get("mean_iou"));
    }

    @Test
    void nestedFieldsHaveTheirPath() {
        assertEquals(Map.of("invoice.total=3", 1, "invoice.items[].sku=\"A\"", 2),
                AnswerScores.pairs(new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(Map.of("invoice",
                        Map.of("total", 3, "items", java.util.List.of(Map.of("sku", "A"), Map.of("sku", "A")))))));
    }

    @Test
    void boxesAreScoredByIntersectionOverUnion() {
        AnswerScores scores = new AnswerScores();
        scores.add("[0, 0, 10, 10]", "[0, 0, 10, 10]");
        scores.add("{\"box\": [5, 0, 15, 10]}", "[0, 0, 10, 10]");
        scores.add("somewhere on the left", "{\"bbox\": [0.1, 0.1, 0.5, 0.5]}");
        Map<String, Double> metrics = scores.metrics();

        // IoUs 1, 1/3 and 0: one box at 0.5 or more.
        assertEquals(1.0 / 3, metrics.get("grounded_accuracy"), 1e-12);
        assertEquals((1 + 1.0 / 3) / 3, metrics.get("mean_iou"), 1e-12);
        assertNull(metrics.get("field_f1"));
        assertArrayEquals(new double[]{0.1, 0.1, 0.5, 0.5}, AnswerScores.box("{\"bbox\": [0.1, 0.1, 0.5, 0.5]}"));
        assertNull(AnswerScores.box("[10, 0, 5, 5]"), "x2 < x1 is no box");
        assertNull(AnswerScores.box("[0, 0, 1e400, 5]"), "an infinite coordinate is no box");
    }

    @Test
    void plainTextAnswersHaveNoFieldOrBoxScores() {
        AnswerScores scores = new AnswerScores();
        scores.add("a red circle", "a red circle on the left");
        assertTrue(scores.metrics().isEmpty());
    }

    @Test
    void numbersBeyondDoubleDoNotBreakTheScores() {
        AnswerScores scores = new AnswerScores();
        scores.add("{\"total\": 1e400}", "{\"total\": 1e400}");
        assertEquals(1.0, scores.metrics().get("field_f1"));
    }
}
