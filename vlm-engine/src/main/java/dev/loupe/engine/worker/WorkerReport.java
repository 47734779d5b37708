package dev.loupe.engine.worker;

import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.annotation.JsonTypeName;

/**
 * What the worker tells the training-service, one event at a time, in the order they happen. As JSON
 * ({@link JsonLinesReports}) each is an object with its kind in {@code type} and its fields in snake_case, e.g.
 * {@code {"type":"checkpoint","step":20,"path":"/jobs/j-1/out/checkpoints/step-20"}}.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
public sealed interface WorkerReport {

    /**
     * The job runs: inputs checked, the plan made.
     *
     * @param totalSteps optimizer steps of the whole run
     * @param resumedFromStep the step of the checkpoint the run continues from; 0 for a fresh run
     */
    @JsonTypeName("started")
    record Started(String jobId, long totalSteps, long resumedFromStep) implements WorkerReport {
    }

    /**
     * One optimizer step done.
     *
     * @param step steps done, this one included (1 after the first)
     * @param epoch epochs done, fractional: {@code step / steps per epoch}
     * @param loss the mean cross-entropy over the step's trained tokens
     * @param learningRate the schedule's rate of the step (the vision tower's is this times its multiplier)
     * @param gradNorm the global gradient norm before clipping; null when not finite (an FP16 step skipped
     *        because its gradients overflowed)
     * @param skipped whether the update was skipped
     */
    @JsonTypeName("metrics")
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Metrics(long step, double epoch, double loss, double learningRate, Double gradNorm,
            double tokensPerSecond, boolean skipped) implements WorkerReport {
    }

    /**
     * A checkpoint saved: the run can resume from here.
     *
     * @param path its folder
     */
    @JsonTypeName("checkpoint")
    record Checkpoint(long step, String path) implements WorkerReport {
    }

    /** Which model an evaluation measured. */
    enum EvaluatedModel {
        base, fine_tuned
    }

    /**
     * The model measured on the validation examples.
     *
     * @param step the optimizer steps the model had (0 for the base)
     * @param loss the mean cross-entropy over the trained tokens, in nats
     * @param tokenAccuracy the share of trained tokens that are the model's most likely next token
     * @param exactMatch the share of examples whose last assistant turn, generated greedily from the conversation
     *        before it, equals the expected one (both trimmed)
     * @param examples how many examples were measured
     * @param fieldF1 with {@code fieldPrecision}, {@code fieldRecall} and {@code jsonValid}: the structured-output
     *        scores of the examples whose expected answer is a JSON object ({@link AnswerScores}); null when none is
     * @param groundedAccuracy with {@code meanIou}: the box scores of the examples whose expected answer is a box;
     *        null when none is
     */
    @JsonTypeName("evaluation")
    record Evaluation(EvaluatedModel model, long step, double loss, double tokenAccuracy, double exactMatch,
            int examples, @JsonInclude(JsonInclude.Include.NON_NULL) Double fieldPrecision,
            @JsonInclude(JsonInclude.Include.NON_NULL) Double fieldRecall,
            @JsonInclude(JsonInclude.Include.NON_NULL) Double fieldF1,
            @JsonInclude(JsonInclude.Include.NON_NULL) Double jsonValid,
            @JsonInclude(JsonInclude.Include.NON_NULL) Double groundedAccuracy,
            @JsonInclude(JsonInclude.Include.NON_NULL) Double meanIou) implements WorkerReport {

        /** The answer scores by their report names ({@code field_f1}, ...), those measured only. */
        Map<String, Double> answerScores() {
            Map<String, Double> scores = new LinkedHashMap<>();
            String[] names = {"field_precision", "field_recall", "field_f1", "json_valid", "grounded_accuracy",
                    "mean_iou"};
            Double[] values = {fieldPrecision, fieldRecall, fieldF1, jsonValid, groundedAccuracy, meanIou};
            for (int i = 0; i < names.length; i++) {
                if (values[i] != null) {
                    scores.put(names[i], values[i]);
                }
            }
            return scores;
        }

        static Evaluation of(EvaluatedModel model, long step, double loss, double tokenAccuracy, double exactMatch,
                int examples, Map<String, Double> answerScores) {
            return new Evaluation(model, step, loss, tokenAccuracy, exactMatch, examples,
                    answerScores.get("field_precision"), answerScores.get("field_recall"),
                    answerScores.get("field_f1"), answerScores.get("json_valid"),
                    answerScores.get("grounded_accuracy"), answerScores.get("mean_iou"));
        }
    }

    /**
     * The job is done; the result is in {@code adapter} (LoRA, the PEFT layout) or {@code model} (full, a Hugging
     * Face folder), the other one null.
     *
     * @param output the job's output folder
     */
    @JsonTypeName("succeeded")
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Succeeded(String output, String adapter, String model) implements WorkerReport {
    }

    /**
     * The job failed and the worker exits.
     *
     * @param reason what went wrong, in words a user can act on
     */
    @JsonTypeName("failed")
    record Failed(String reason) implements WorkerReport {
    }

    /** How much a message matters. */
    enum Level {
        info, warning
    }

    /** Anything else worth telling the user, e.g. that a run resumed or stopped on request. */
    @JsonTypeName("message")
    record Message(Level level, String text) implements WorkerReport {
    }
}
