package dev.loupe.engine.tiny;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import dev.loupe.engine.generate.Generator;
import dev.loupe.engine.generate.SamplingSettings;
import dev.loupe.engine.model.LlavaModel;
import dev.loupe.engine.text.ChatMessage;
import dev.loupe.engine.text.ChatTokenizer;
import dev.loupe.engine.text.EncodedChat;
import dev.loupe.engine.train.CausalLmLoss;
import dev.loupe.engine.train.TrainingBatch;

/**
 * Questions about scenes as model inputs (one user turn with the picture and the question, one assistant turn
 * with the answer), and the two measures of how well a model answers them: the mean cross-entropy of the answer
 * tokens, and the share of greedy answers that equal the expected answer exactly.
 */
public final class SceneTasks {
    /** Answers are this many tokens longer at most than the longest expected one before generation stops. */
    private static final int SPARE_TOKENS = 8;

    private SceneTasks() {
    }

    /** The caption question with the scene's caption as its answer. */
    public static Scene.QuestionAnswer caption(Scene scene) {
        return new Scene.QuestionAnswer(Scene.CAPTION_QUESTION, scene.caption());
    }

    /** The conversation: the picture, a line feed and the question; then the answer. */
    public static List<ChatMessage> chat(Scene.QuestionAnswer questionAnswer) {
        return List.of(userTurn(questionAnswer.question()), ChatMessage.assistant(questionAnswer.answer()));
    }

    private static ChatMessage userTurn(String question) {
        return ChatMessage.user(ChatTokenizer.IMAGE_PLACEHOLDER + "\n" + question);
    }

    /**
     * One training batch: row {@code i} asks scene {@code i} question {@code i}; only the answers are labelled.
     */
    public static TrainingBatch batch(ChatTokenizer tokenizer, List<Scene> scenes,
            List<Scene.QuestionAnswer> questions) {
        List<EncodedChat> chats = new ArrayList<>();
        for (Scene.QuestionAnswer question : questions) {
            chats.add(tokenizer.encode(chat(question), false));
        }
        return TrainingBatch.fromChats(chats, tokenizer.padTokenId(), pixels(scenes));
    }

    private static float[] pixels(List<Scene> scenes) {
        return TinyBase.pixels(scenes.stream().map(SyntheticScenes::render).toList());
    }

    /**
     * How well a model answers.
     *
     * @param loss the mean cross-entropy per answer token (the end marker included), in nats
     * @param exactMatch the share of greedy answers equal to the expected ones, in [0, 1]
     * @param answers the greedy answers, in the order of the questions
     */
    public record Evaluation(double loss, double exactMatch, List<String> answers) {
    }

    /**
     * Measures the model on scene {@code i} with question {@code i}, {@code batchSize} at a time. Every array it
     * makes lives in a sub-manager of {@code manager}, closed before it returns.
     */
    public static Evaluation evaluate(NDManager manager, LlavaModel model, ChatTokenizer tokenizer,
            List<Scene> scenes, List<Scene.QuestionAnswer> questions, int batchSize) {
        if (scenes.size() != questions.size() || scenes.isEmpty()) {
            throw new IllegalArgumentException("one question per scene, and at least one scene");
        }
        double lossSum = 0;
        long labelled = 0;
        int matches = 0;
        List<String> answers = new ArrayList<>();
        Generator generator = new Generator(model, tokenizer.padTokenId());
        for (int from = 0; from < scenes.size(); from += batchSize) {
            int to = Math.min(scenes.size(), from + batchSize);
            List<Scene> batchScenes = scenes.subList(from, to);
            List<Scene.QuestionAnswer> batchQuestions = questions.subList(from, to);
            try (NDManager scratch = manager.newSubManager()) {
                TrainingBatch batch = batch(tokenizer, batchScenes, batchQuestions);
                NDArray pixels = scratch.create(batch.pixels(), new Shape(batchScenes.size(), 3,
                        SyntheticScenes.IMAGE_SIZE, SyntheticScenes.IMAGE_SIZE));
                lossSum += summedLoss(scratch, model, batch, pixels);
                labelled += CausalLmLoss.labelledTargets(batch.labels());

                List<long[]> prompts = new ArrayList<>();
                int longest = 0;
                for (Scene.QuestionAnswer question : batchQuestions) {
                    prompts.add(tokenizer.encode(List.of(userTurn(question.question())), true).inputIds());
                    longest = Math.max(longest, tokenizer.text(question.answer()).length);
                }
                SamplingSettings greedy = SamplingSettings.greedy(longest + SPARE_TOKENS,
                        Set.of(tokenizer.turnEndTokenId()));
                List<long[]> generated = generator.generate(scratch, prompts, pixels, greedy, true);
                for (int i = 0; i < generated.size(); i++) {
                    String answer = tokenizer.decode(generated.get(i));
                    answers.add(answer);
                    matches += answer.equals(batchQuestions.get(i).answer()) ? 1 : 0;
                }
            }
        }
        return new Evaluation(lossSum / labelled, (double) matches / scenes.size(), answers);
    }

    /** The batch's summed answer cross-entropy, without gradients. */
    private static double summedLoss(NDManager manager, LlavaModel model, TrainingBatch batch, NDArray pixels) {
        long[] flat = new long[batch.size() * batch.length()];
        for (int b = 0; b < batch.size(); b++) {
            System.arraycopy(batch.inputIds()[b], 0, flat, b * batch.length(), batch.length());
        }
        NDArray ids = manager.create(flat, new Shape(batch.size(), batch.length()));
        NDArray logits = model.step(new ParameterStore(manager, false), ids, batch.isToken(), pixels, null, false);
        return CausalLmLoss.summed(logits, batch.labels()).toType(DataType.FLOAT64, false).getDouble();
    }
}
