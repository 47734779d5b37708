package dev.loupe.engine.worker;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import dev.loupe.engine.generate.Generator;
import dev.loupe.engine.generate.SamplingSettings;
import dev.loupe.engine.image.ImagePreprocessor;
import dev.loupe.engine.model.LlavaModel;
import dev.loupe.engine.text.ChatMessage;
import dev.loupe.engine.text.ChatTokenizer;
import dev.loupe.engine.text.EncodedChat;
import dev.loupe.engine.train.CausalLmLoss;
import dev.loupe.engine.train.TrainingBatch;

/**
 * Measures a model on validation examples, {@code batchSize} at a time: the mean cross-entropy over the trained
 * tokens, the share of trained tokens that are the model's most likely next token (teacher-forced, so each
 * prediction sees the true tokens before it), and the share of examples whose last assistant turn, generated
 * greedily from the conversation before it, is the expected one exactly (both trimmed); and for answers that are
 * JSON objects or boxes, field-level and IoU scores ({@link AnswerScores}). Every array an evaluation
 * makes lives in a sub-manager of the caller's manager, closed batch by batch.
 */
final class Evaluator {
    /** Generation stops this many tokens after the length of the expected answer at most. */
    private static final int SPARE_TOKENS = 8;

    /**
     * What an evaluation measured.
     *
     * @param loss in nats per trained token
     * @param tokenAccuracy in [0, 1]
     * @param exactMatch in [0, 1]
     * @param examples how many examples were measured
     * @param answers the structured-output and box scores of the generated answers ({@link AnswerScores})
     */
    record Scores(double loss, double tokenAccuracy, double exactMatch, int examples, Map<String, Double> answers) {
    }

    /** An example with the prompt that precedes its last assistant turn and that turn's expected text. */
    private record Case(EncodedExample example, long[] prompt, int promptImages, String expected, int answerTokens) {
    }

    private final List<Case> cases;
    private final ChatTokenizer tokenizer;
    private final ImagePreprocessor preprocessor;
    private final int batchSize;
    private final int maxPositions;

    /**
     * @param maxPositions the model's {@code max_position_embeddings}: generation stops there
     * @throws IllegalArgumentException naming an example that has no assistant turn to generate
     */
    Evaluator(List<EncodedExample> examples, ChatTokenizer tokenizer, ImagePreprocessor preprocessor, int batchSize,
            int maxPositions) {
        this.tokenizer = tokenizer;
        this.preprocessor = preprocessor;
        this.batchSize = batchSize;
        this.maxPositions = maxPositions;
        List<Case> prepared = new ArrayList<>();
        for (EncodedExample example : examples) {
            List<ChatMessage> messages = example.example().messages();
            int last = messages.size() - 1;
            while (last >= 0 && messages.get(last).role() != ChatMessage.Role.assistant) {
                last--;
            }
            if (last < 0) {
                throw new IllegalArgumentException("example " + example.id() + " has no assistant turn to compare a "
                        + "generated answer with");
            }
            EncodedChat prompt = tokenizer.encode(messages.subList(0, last), true);
            String expected = messages.get(last).content().trim();
            prepared.add(new Case(example, prompt.inputIds(), prompt.imageCount(), expected,
                    tokenizer.text(expected).length));
        }
        this.cases = List.copyOf(prepared);
    }

    /**
     * Measures the model.
     *
     * @param stop asked between batches: when it says true, the evaluation ends without a result
     * @return the scores; empty if stopped
     */
    Optional<Scores> evaluate(NDManager manager, LlavaModel model, BooleanSupplier stop) {
        DataType type = model.dataType();
        int side = preprocessor.imageSize();
        Generator generator = new Generator(model, tokenizer.padTokenId());
        double lossSum = 0;
        long labelled = 0;
        long correct = 0;
        int matches = 0;
        AnswerScores answers = new AnswerScores();
        for (int from = 0; from < cases.size(); from += batchSize) {
            if (stop.getAsBoolean()) {
                return Optional.empty();
            }
            List<Case> part = cases.subList(from, Math.min(cases.size(), from + batchSize));
            List<EncodedExample> examples = part.stream().map(Case::example).toList();
            try (NDManager scratch = manager.newSubManager()) {
                TrainingBatch batch = TrainingBatch.fromChats(examples.stream().map(EncodedExample::chat).toList(),
                        tokenizer.padTokenId(), EncodedExample.pixels(examples, preprocessor));
                NDArray pixels = scratch.create(batch.pixels(), new Shape(batch.pixels().length / (3 * side * side),
                        3, side, side)).toType(type, false);
                long[] flat = new long[batch.size() * batch.length()];
                for (int b = 0; b < batch.size(); b++) {
                    System.arraycopy(batch.inputIds()[b], 0, flat, b * batch.length(), batch.length());
                }
                NDArray ids = scratch.create(flat, new Shape(batch.size(), batch.length()));
                NDArray logits = model.step(new ParameterStore(scratch, false), ids, batch.isToken(), pixels, null,
                        false);
                lossSum += CausalLmLoss.summed(logits, batch.labels()).toType(DataType.FLOAT64, false).getDouble();
                labelled += CausalLmLoss.labelledTargets(batch.labels());
                correct += correctPredictions(logits.argMax(2).toLongArray(), batch.labels());

                List<long[]> prompts = part.stream().map(Case::prompt).toList();
                NDArray promptPixels = scratch.create(EncodedExample.pixels(examples,
                        part.stream().map(Case::promptImages).toList(), preprocessor),
                        new Shape(part.stream().mapToInt(Case::promptImages).sum(), 3, side, side))
                        .toType(type, false);
                int maxNewTokens = 1;
                for (Case c : part) {
                    maxNewTokens = Math.max(maxNewTokens,
                            Math.min(c.answerTokens() + SPARE_TOKENS, maxPositions - c.prompt().length));
                }
                SamplingSettings greedy = SamplingSettings.greedy(maxNewTokens,
                        Collections.singleton(tokenizer.turnEndTokenId()));
                List<long[]> generated = generator.generate(scratch, prompts, promptPixels, greedy, true);
                for (int i = 0; i < part.size(); i++) {
                    String answer = tokenizer.decode(generated.get(i)).trim();
                    matches += answer.equals(part.get(i).expected()) ? 1 : 0;
                    answers.add(answer, part.get(i).expected());
                }
            }
        }
        return Optional.of(new Scores(lossSum / labelled, (double) correct / labelled,
                (double) matches / cases.size(), cases.size(), answers.metrics()));
    }

    /** Positions whose next token is labelled and is the argmax of the position's logits. */
    private static long correctPredictions(long[] argmax, long[][] labels) {
        long correct = 0;
        int length = labels[0].length;
        for (int b = 0; b < labels.length; b++) {
            for (int t = 0; t + 1 < length; t++) {
                long label = labels[b][t + 1];
                if (label != EncodedChat.IGNORED_LABEL && argmax[b * length + t] == label) {
                    correct++;
                }
            }
        }
        return correct;
    }
}
