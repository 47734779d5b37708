package dev.loupe.engine.drift;

import java.util.List;
import java.util.Locale;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** The forms of an answer that drift monitoring counts: a JSON document, a refusal. */
public final class AnswerForms {
    private static final ObjectMapper JSON = new ObjectMapper();
    /**
     * Openings of English refusals. A heuristic: a model fine-tuned on other wording refuses in its own words, which
     * this list misses; the rate is then compared with the training answers' rate under the same list.
     */
    private static final List<String> REFUSALS = List.of("i can't", "i cannot", "i can not", "i'm sorry",
            "i am sorry", "sorry,", "i'm unable", "i am unable", "i'm not able", "i am not able", "i won't",
            "i will not", "as an ai");

    private AnswerForms() {
    }

    /** Whether the whole answer is one JSON object or array. */
    public static boolean isJson(String answer) {
        String trimmed = answer.strip();
        if (trimmed.isEmpty() || (trimmed.charAt(0) != '{' && trimmed.charAt(0) != '[')) {
            return false;
        }
        try {
            JsonNode node = JSON.readTree(trimmed);
            return node != null && node.isContainerNode();
        } catch (JsonProcessingException e) {
            return false;
        }
    }

    /** Whether the answer opens as a refusal does. */
    public static boolean isRefusal(String answer) {
        String opening = answer.strip().toLowerCase(Locale.ROOT).replace('\u2019', '\'');
        return REFUSALS.stream().anyMatch(opening::startsWith);
    }
}
