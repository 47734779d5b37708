package dev.loupe.engine.worker;

import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Scores of generated answers beyond exact match, for the two kinds of answer regulated users extract most:
 *
 * <ul>
 * <li>Structured output: when the expected answer is a JSON object, both are flattened to (field path, value)
 * pairs ({@code invoice.total = 12.5}; the items of a list count as a multiset under {@code path[]}), and the
 * generated pairs are scored against the expected ones: micro precision, recall and F1 over all such answers, and
 * the share of generated answers that are a JSON object at all. An answer that does not parse has no pairs: all
 * of the expected ones are missed.</li>
 * <li>Grounding: when the expected answer is a box, {@code [x1, y1, x2, y2]} (or a JSON object with a {@code box}
 * or {@code bbox} of that form), the generated one is read the same way and compared by intersection over union:
 * the mean IoU, and the grounded accuracy, the share with an IoU of at least {@value #IOU_THRESHOLD}.</li>
 * </ul>
 *
 * Metrics of a kind no expected answer has are absent. The training worker's evaluations and the serving-service's
 * scheduled evaluations score answers with it.
 */
public final class AnswerScores {
    static final double IOU_THRESHOLD = 0.5;
    /** Every metric this class may give, by name. */
    public static final List<String> NAMES = List.of("field_precision", "field_recall", "field_f1", "json_valid",
            "grounded_accuracy", "mean_iou");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String NUMBER = "\\s*(-?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?)\\s*";
    private static final Pattern BOX = Pattern.compile("\\[" + NUMBER + "," + NUMBER + "," + NUMBER + "," + NUMBER
            + "\\]");

    private long truePositives;
    private long predicted;
    private long expected;
    private int jsonAnswers;
    private int jsonValid;
    private int boxAnswers;
    private int boxHits;
    private double iouSum;

    /** Scores one generated answer against the expected one. */
    public void add(String generated, String expectedAnswer) {
        double[] expectedBox = box(expectedAnswer);
        if (expectedBox != null) {
            boxAnswers++;
            double[] generatedBox = box(generated);
            double iou = generatedBox == null ? 0 : iou(expectedBox, generatedBox);
            iouSum += iou;
            boxHits += iou >= IOU_THRESHOLD ? 1 : 0;
            return;
        }
        JsonNode expectedJson = object(expectedAnswer);
        if (expectedJson == null) {
            return;
        }
        jsonAnswers++;
        JsonNode generatedJson = object(generated);
        jsonValid += generatedJson == null ? 0 : 1;
        Map<String, Integer> wanted = pairs(expectedJson);
        Map<String, Integer> got = generatedJson == null ? Map.of() : pairs(generatedJson);
        for (Map.Entry<String, Integer> pair : wanted.entrySet()) {
            truePositives += Math.min(pair.getValue(), got.getOrDefault(pair.getKey(), 0));
        }
        expected += wanted.values().stream().mapToLong(Integer::longValue).sum();
        predicted += got.values().stream().mapToLong(Integer::longValue).sum();
    }

    /** The metrics, by name: {@code field_precision}, {@code field_recall}, {@code field_f1}, {@code json_valid},
     * {@code grounded_accuracy}, {@code mean_iou}; only those of kinds the expected answers had. */
    public Map<String, Double> metrics() {
        Map<String, Double> metrics = new HashMap<>();
        if (jsonAnswers > 0) {
            double precision = predicted == 0 ? 0 : (double) truePositives / predicted;
            double recall = expected == 0 ? 0 : (double) truePositives / expected;
            metrics.put("field_precision", precision);
            metrics.put("field_recall", recall);
            metrics.put("field_f1", precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall));
            metrics.put("json_valid", (double) jsonValid / jsonAnswers);
        }
        if (boxAnswers > 0) {
            metrics.put("grounded_accuracy", (double) boxHits / boxAnswers);
            metrics.put("mean_iou", iouSum / boxAnswers);
        }
        return metrics;
    }

    private static JsonNode object(String text) {
        try {
            JsonNode node = JSON.readTree(text.trim());
            return node != null && node.isObject() ? node : null;
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    /** The (path = value) pairs of a JSON object, with how often each occurs. */
    static Map<String, Integer> pairs(JsonNode root) {
        Map<String, Integer> pairs = new HashMap<>();
        flatten("", root, pairs);
        return pairs;
    }

    private static void flatten(String path, JsonNode node, Map<String, Integer> into) {
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> fields = node.fields(); fields.hasNext();) {
                Map.Entry<String, JsonNode> field = fields.next();
                flatten(path.isEmpty() ? field.getKey() : path + "." + field.getKey(), field.getValue(), into);
            }
        } else if (node.isArray()) {
            for (JsonNode item : node) {
                flatten(path + "[]", item, into);
            }
        } else {
            // Numbers compare by value (12.50 and 12.5 are one value), everything else by its JSON text.
            String value = node.isNumber() && Double.isFinite(node.asDouble())
                    ? node.decimalValue().stripTrailingZeros().toPlainString()
                    : node.toString();
            into.merge(path + "=" + value, 1, Integer::sum);
        }
    }

    /** The box an answer states: the whole answer, or the {@code box} / {@code bbox} of a JSON object. */
    static double[] box(String text) {
        String trimmed = text.trim();
        JsonNode object = object(trimmed);
        if (object != null) {
            JsonNode box = object.has("box") ? object.get("box") : object.get("bbox");
            if (box == null) {
                return null;
            }
            trimmed = box.toString();
        }
        Matcher matcher = BOX.matcher(trimmed);
        if (!matcher.matches()) {
            return null;
        }
        double[] box = new double[4];
        for (int i = 0; i < 4; i++) {
            box[i] = Double.parseDouble(matcher.group(i + 1));
            if (!Double.isFinite(box[i])) {
                return null;
            }
        }
        return box[2] >= box[0] && box[3] >= box[1] ? box : null;
    }

    static double iou(double[] a, double[] b) {
        double width = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
        double height = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
        double intersection = Math.max(0, width) * Math.max(0, height);
        double union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - intersection;
        return union <= 0 ? 0 : intersection / union;
    }

}
