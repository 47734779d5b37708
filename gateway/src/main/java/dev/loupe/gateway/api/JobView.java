package dev.loupe.gateway.api;

import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import dev.loupe.contracts.training.v1.FineTuningJob;
import dev.loupe.contracts.training.v1.Hyperparameters;
import dev.loupe.contracts.training.v1.JobState;
import dev.loupe.contracts.training.v1.LoraSettings;
import dev.loupe.contracts.training.v1.Method;
import dev.loupe.contracts.training.v1.Precision;
import dev.loupe.contracts.training.v1.TrainingMethod;
import dev.loupe.support.grpc.ProtoTime;

/**
 * A fine-tuning job as the REST API shows it, with the settings it took (its defaults filled in).
 *
 * @param datasetVersion id of the dataset version the job trains on
 * @param manifestHash the version's manifest hash when the job was accepted: what the job trains on
 * @param failureReason why a failed job failed, in words a user can act on; null otherwise
 * @param resultModelVersion id of the model version a succeeded job registered; null otherwise
 * @param attempt launches of the job's worker so far: 1 for a run that never had to be restarted
 * @param estimatedMemoryBytes the worker memory the job was estimated to need when it was accepted
 * @param evaluation loss, token_accuracy, exact_match and examples on the validation split after training; empty
 *        until measured
 * @param baseEvaluation the same measures of the base model, before training
 * @param startedAt null until the job first runs
 * @param finishedAt null until the job succeeds, fails or is cancelled
 */
@Schema(name = "FineTuningJob")
public record JobView(String id, String object, String model, String datasetId, String datasetVersion,
        String validationSplit, MethodView method, HyperparametersView hyperparameters, long seed, String suffix,
        Map<String, String> metadata,
        @Schema(enumeration = {
                "validating_files", "queued", "running", "paused", "succeeded", "failed",
                "cancelled"}) String status,
        String failureReason, String resultModelVersion, long trainedSteps, long totalSteps, int attempt,
        long estimatedMemoryBytes, String manifestHash, Map<String, Double> evaluation,
        Map<String, Double> baseEvaluation, int priority, Instant createdAt, Instant startedAt, Instant finishedAt,
        ActorView createdBy) {

    /**
     * How the model is trained.
     *
     * @param lora the LoRA settings; null for {@code full}
     */
    @Schema(name = "FineTuningMethod")
    public record MethodView(@Schema(enumeration = {
            "lora", "full"}) String type, LoraView lora,
            Boolean freezeVisionEncoder, Boolean trainProjector) {

        static MethodView of(Method method) {
            return new MethodView(methodName(method.getType()),
                    method.getType() == TrainingMethod.TRAINING_METHOD_FULL || !method.hasLora()
                            ? null
                            : LoraView.of(method.getLora()),
                    method.hasFreezeVisionEncoder() ? method.getFreezeVisionEncoder() : null,
                    method.hasTrainProjector() ? method.getTrainProjector() : null);
        }
    }

    /** LoRA settings. */
    @Schema(name = "LoraSettings")
    public record LoraView(Integer rank, Double alpha, Double dropout, List<String> targetModules) {

        static LoraView of(LoraSettings lora) {
            return new LoraView(lora.hasRank() ? lora.getRank() : null, lora.hasAlpha() ? lora.getAlpha() : null,
                    lora.hasDropout() ? lora.getDropout() : null, lora.getTargetModulesList());
        }
    }

    /** Training hyperparameters. */
    @Schema(name = "Hyperparameters")
    public record HyperparametersView(Integer epochs, Integer batchSize, Double learningRate,
            Double visionLearningRateMultiplier, Double warmupRatio, Double weightDecay, Double maxGradNorm,
            Integer gradientAccumulationSteps, @Schema(enumeration = {
                    "fp32", "fp16", "bf16"}) String precision) {

        static HyperparametersView of(Hyperparameters h) {
            return new HyperparametersView(h.hasEpochs() ? h.getEpochs() : null,
                    h.hasBatchSize() ? h.getBatchSize() : null, h.hasLearningRate() ? h.getLearningRate() : null,
                    h.hasVisionLearningRateMultiplier() ? h.getVisionLearningRateMultiplier() : null,
                    h.hasWarmupRatio() ? h.getWarmupRatio() : null, h.hasWeightDecay() ? h.getWeightDecay() : null,
                    h.hasMaxGradNorm() ? h.getMaxGradNorm() : null,
                    h.hasGradientAccumulationSteps() ? h.getGradientAccumulationSteps() : null,
                    precisionName(h.getPrecision()));
        }
    }

    public static JobView of(FineTuningJob job) {
        return new JobView(job.getId(), "fine_tuning.job", job.getModel(), job.getDatasetId(),
                job.getDatasetVersionId(), job.getValidationSplit(), MethodView.of(job.getMethod()),
                HyperparametersView.of(job.getHyperparameters()), job.getSeed(), emptyToNull(job.getSuffix()),
                job.getMetadataMap(), statusName(job.getState()), emptyToNull(job.getFailureReason()),
                emptyToNull(job.getResultModelVersionId()), job.getTrainedSteps(), job.getTotalSteps(),
                job.getAttempt(), job.getEstimatedMemoryBytes(), job.getManifestHash(), job.getEvaluationMap(),
                job.getBaseEvaluationMap(), job.getPriority(), ProtoTime.toInstant(job.getCreatedAt()),
                job.hasStartedAt() ? ProtoTime.toInstant(job.getStartedAt()) : null,
                job.hasFinishedAt() ? ProtoTime.toInstant(job.getFinishedAt()) : null,
                ActorView.of(job.getCreatedBy()));
    }

    /** The REST name of a state, as {@code status} shows it and the list's {@code status} filter takes it. */
    public static String statusName(JobState state) {
        return switch (state) {
            case JOB_STATE_VALIDATING_FILES, JOB_STATE_QUEUED, JOB_STATE_RUNNING, JOB_STATE_PAUSED,
                    JOB_STATE_SUCCEEDED, JOB_STATE_FAILED, JOB_STATE_CANCELLED ->
                suffix(state.name(), "JOB_STATE_");
            case JOB_STATE_UNSPECIFIED, UNRECOGNIZED -> null;
        };
    }

    /** The REST name of a training method, as {@code method.type} takes it; null when unspecified. */
    public static String methodName(TrainingMethod method) {
        return switch (method) {
            case TRAINING_METHOD_LORA, TRAINING_METHOD_FULL -> suffix(method.name(), "TRAINING_METHOD_");
            case TRAINING_METHOD_UNSPECIFIED, UNRECOGNIZED -> null;
        };
    }

    /** The REST name of a precision, as {@code hyperparameters.precision} takes it; null when unspecified. */
    public static String precisionName(Precision precision) {
        return switch (precision) {
            case PRECISION_FP32, PRECISION_FP16, PRECISION_BF16 -> suffix(precision.name(), "PRECISION_");
            case PRECISION_UNSPECIFIED, UNRECOGNIZED -> null;
        };
    }

    static String suffix(String name, String prefix) {
        return name.substring(prefix.length()).toLowerCase(Locale.ROOT);
    }

    private static String emptyToNull(String value) {
        return value.isEmpty() ? null : value;
    }
}
