package dev.loupe.engine.generate;

import java.nio.DoubleBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.loupe.engine.ProcessMemory;
import dev.loupe.engine.generate.json.JsonConstraint;
import dev.loupe.engine.generate.json.TokenVocabulary;
import dev.loupe.engine.model.LlavaConfig;
import dev.loupe.engine.model.LlavaModel;
import dev.loupe.engine.text.ByteLevelBpeTrainer;
import dev.loupe.engine.text.ChatMessage;
import dev.loupe.engine.text.ChatTokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * JSON-constrained generation from a randomly initialised model, sampled at temperature 1: whatever the model
 * would say, every row that ends holds a document the schema accepts, while the same model unconstrained says
 * nothing of the kind.
 */
class GeneratorJsonTest {
    private static final String SCHEMA = """
            {"type": "object", "properties": {
              "label": {"enum": ["cat", "dog"]},
              "count": {"type": "integer"},
              "boxes": {"type": "array", "items": {"type": "number"}, "maxItems": 4}},
             "required": ["label", "count"], "additionalProperties": false}""";
    /** Trailing text after a document must fail the parse, not be ignored. */
    private static final ObjectMapper STRICT_JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final int MAX_NEW_TOKENS = 80;
    private static final List<Long> SEEDS = List.of(1L, 2L, 3L, 4L, 5L, 6L);

    @TempDir
    static Path dir;
    static ChatTokenizer tokenizer;
    static TokenVocabulary vocabulary;

    private NDManager manager;
    private LlavaModel model;
    private JsonConstraint constraint;
    private List<long[]> prompts;

    @BeforeAll
    static void train() throws Exception {
        Path file = dir.resolve("tokenizer.json");
        List<String> corpus = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            corpus.add("{\"label\": \"" + (i % 2 == 0 ? "cat" : "dog") + "\", \"count\": " + i % 9 + ", \"boxes\": [0."
                    + i + ", " + i * 3 + "]}");
            corpus.add("A photo of " + i % 5 + " animals on a sofa, café-style 🐈.");
        }
        ByteLevelBpeTrainer.train(corpus, 400, ChatTokenizer.SPECIAL_TOKENS, file);
        tokenizer = ChatTokenizer.load(file, 4);
        vocabulary = TokenVocabulary.fromTokenizerJson(file);
    }

    @AfterAll
    static void closeTokenizer() {
        tokenizer.close();
    }

    @BeforeEach
    void open() throws Exception {
        manager = NDManager.newBaseManager();
        model = new LlavaModel(new LlavaConfig("llava", tokenizer.imageTokenId(), "gelu", -2, "default",
                new LlavaConfig.VisionConfig(12, 20, 2, 2, 8, 4, 1e-5),
                new LlavaConfig.TextConfig("llama", vocabulary.size(), 16, 24, 2, 4, 2, 1e-6, 10_000, 512, false)));
        model.initialize(manager, DataType.FLOAT64, new Shape(1, 4));
        Random random = new Random(3);
        for (Pair<String, Parameter> parameter : model.getParameters()) {
            NDArray array = parameter.getValue().getArray();
            double[] values = new double[(int) array.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = random.nextGaussian() * 0.4;
            }
            array.set(DoubleBuffer.wrap(values));
        }
        constraint = JsonConstraint.of(STRICT_JSON.readTree(SCHEMA), vocabulary);
        prompts = List.of(prompt("Describe the animals as JSON."), prompt("What is on the sofa?"),
                prompt("JSON please."));
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private static long[] prompt(String question) {
        return tokenizer.encode(List.of(ChatMessage.user(question)), true).inputIds();
    }

    private static SamplingSettings sampled(long seed) {
        return new SamplingSettings(MAX_NEW_TOKENS, 1.0, 0, 1.0, seed, Set.of(tokenizer.turnEndTokenId()));
    }

    private List<Generation> generate(List<Optional<JsonConstraint>> constraints, long seed, boolean useCache) {
        return new Generator(model, tokenizer.padTokenId()).generate(manager, prompts, manager.zeros(new Shape(0)),
                sampled(seed), constraints, useCache);
    }

    @Test
    void everyCompletedRowIsADocumentOfTheSchema() throws Exception {
        // Rows 0 and 2 are constrained, row 1 is free: each row keeps its own state in the batch.
        List<Optional<JsonConstraint>> constraints = List.of(Optional.of(constraint), Optional.empty(),
                Optional.of(constraint));
        int completed = 0;
        List<String> outputs = new ArrayList<>();
        for (long seed : SEEDS) {
            List<Generation> rows = generate(constraints, seed, true);
            for (int b : new int[]{0, 2}) {
                Generation row = rows.get(b);
                String text = tokenizer.decode(row.tokens());
                outputs.add(row.finish() + " " + text);
                if (row.finish() == Generation.Finish.INCOMPLETE_JSON) {
                    assertEquals(MAX_NEW_TOKENS, row.tokens().length, text);
                    assertFalse(isDocumentOfTheSchema(text), "an incomplete row is no document: " + text);
                } else {
                    assertTrue(isDocumentOfTheSchema(text), "seed " + seed + ", row " + b + ": " + text);
                    completed++;
                }
            }
            String free = tokenizer.decode(rows.get(1).tokens());
            assertFalse(isDocumentOfTheSchema(free), "the free row is not constrained: " + free);
        }
        assertTrue(completed >= SEEDS.size(), "most constrained rows complete within the budget: " + completed
                + " of " + 2 * SEEDS.size() + "\n" + String.join("\n", outputs));
    }

    @Test
    void withoutTheMaskTheSameModelWritesNoDocument() {
        List<Optional<JsonConstraint>> free = List.of(Optional.empty(), Optional.empty(), Optional.empty());
        for (long seed : SEEDS) {
            for (Generation row : generate(free, seed, true)) {
                String text = tokenizer.decode(row.tokens());
                assertFalse(isDocumentOfTheSchema(text), "the random model unconstrained: " + text);
            }
        }
    }

    @Test
    void constrainedSamplingIsReproducibleCacheIndependentAndLeavesNoArrays() {
        List<Optional<JsonConstraint>> constraints = List.of(Optional.of(constraint), Optional.empty(),
                Optional.of(constraint));
        int before = ProcessMemory.openArrays(List.of(manager));
        List<Generation> cached = generate(constraints, 7, true);
        int after = ProcessMemory.openArrays(List.of(manager));
        List<Generation> recomputed = generate(constraints, 7, false);
        for (int b = 0; b < prompts.size(); b++) {
            assertArrayEquals(cached.get(b).tokens(), recomputed.get(b).tokens(), "row " + b);
            assertEquals(cached.get(b).finish(), recomputed.get(b).finish(), "row " + b);
        }
        // The pixels this test's generate makes stay in the caller's manager: one array per call.
        assertEquals(before + 1, after, "open arrays before and after a constrained generation");
    }

    @Test
    void aConstrainedRowNeedsAStopToken() {
        SamplingSettings noStop = new SamplingSettings(4, 1.0, 0, 1.0, 1, Set.of());
        Generator generator = new Generator(model, tokenizer.padTokenId());
        assertThrows(IllegalArgumentException.class, () -> generator.generate(manager, prompts,
                manager.zeros(new Shape(0)), noStop, List.of(Optional.of(constraint), Optional.empty(),
                        Optional.empty()),
                true));
    }

    /** The schema checked by hand, not by the recogniser under test. */
    private static boolean isDocumentOfTheSchema(String text) {
        JsonNode document;
        try {
            document = STRICT_JSON.readTree(text);
        } catch (Exception e) {
            return false;
        }
        if (document == null || !document.isObject()) {
            return false;
        }
        List<String> names = new ArrayList<>();
        document.fieldNames().forEachRemaining(names::add);
        if (!Set.of("label", "count", "boxes").containsAll(names) || !names.contains("label")
                || !names.contains("count")) {
            return false;
        }
        JsonNode label = document.get("label");
        if (!label.isTextual() || !Set.of("cat", "dog").contains(label.asText())) {
            return false;
        }
        if (!document.get("count").isIntegralNumber()) {
            return false;
        }
        JsonNode boxes = document.get("boxes");
        if (boxes == null) {
            return true;
        }
        if (!boxes.isArray() || boxes.size() > 4) {
            return false;
        }
        for (JsonNode box : boxes) {
            if (!box.isNumber()) {
                return false;
            }
        }
        return true;
    }
}
