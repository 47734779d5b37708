package dev.loupe.training.job;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.loupe.contracts.training.v1.CreateJobRequest;
import dev.loupe.contracts.training.v1.Hyperparameters;
import dev.loupe.contracts.training.v1.LoraSettings;
import dev.loupe.contracts.training.v1.Method;
import dev.loupe.contracts.training.v1.Precision;
import dev.loupe.contracts.training.v1.TrainingMethod;
import dev.loupe.engine.worker.JobSpec;
import dev.loupe.engine.worker.JobSpecException;
import dev.loupe.support.error.ProblemException;

/**
 * A job's method, hyperparameters and seed with every default filled in. They are checked by the trainer worker's
 * own reader ({@link JobSpec}), so a job the service accepts is a job the worker accepts, with the same ranges and
 * the same field names in the errors ({@code method.lora.rank}, {@code hyperparameters.learning_rate}).
 *
 * @param method the {@code method} object of the worker's job spec (snake_case keys)
 * @param hyperparameters the {@code hyperparameters} object of the worker's job spec
 */
public record JobSettings(JobSpec.Method resolvedMethod, JobSpec.Hyperparameters resolvedHyperparameters, long seed,
        Map<String, Object> method, Map<String, Object> hyperparameters) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * The settings of a request: fields it leaves unset take the worker's defaults.
     *
     * @throws ProblemException (invalid-request) naming the field at fault
     */
    public static JobSettings of(CreateJobRequest request) {
        ObjectNode spec = JSON.createObjectNode()
                .put("job_id", "check")
                .put("base_model", "base")
                .put("output", "output")
                .put("examples_on_stdin", true);
        if (request.hasSeed()) {
            spec.put("seed", request.getSeed());
        }
        if (request.hasMethod()) {
            method(request.getMethod(), spec.putObject("method"));
        }
        if (request.hasHyperparameters()) {
            hyperparameters(request.getHyperparameters(), spec.putObject("hyperparameters"));
        }
        JobSpec parsed;
        try {
            parsed = JobSpec.parse(spec.toString(), Path.of("/"));
        } catch (JobSpecException e) {
            throw ProblemException.invalid(e.field(), e.getMessage());
        }
        return new JobSettings(parsed.method(), parsed.hyperparameters(), parsed.seed(), toMap(parsed.method()),
                toMap(parsed.hyperparameters()));
    }

    private static void method(Method method, ObjectNode into) {
        if (method.getType() == TrainingMethod.TRAINING_METHOD_LORA) {
            into.put("type", "lora");
        } else if (method.getType() == TrainingMethod.TRAINING_METHOD_FULL) {
            into.put("type", "full");
        } else if (method.getType() != TrainingMethod.TRAINING_METHOD_UNSPECIFIED) {
            throw ProblemException.invalid("method.type", "method.type must be lora or full");
        }
        if (method.hasLora()) {
            LoraSettings lora = method.getLora();
            ObjectNode node = into.putObject("lora");
            if (lora.hasRank()) {
                node.put("rank", lora.getRank());
            }
            if (lora.hasAlpha()) {
                node.put("alpha", lora.getAlpha());
            }
            if (lora.hasDropout()) {
                node.put("dropout", lora.getDropout());
            }
            if (lora.getTargetModulesCount() > 0) {
                lora.getTargetModulesList().forEach(node.putArray("target_modules")::add);
            }
        }
        if (method.hasFreezeVisionEncoder()) {
            into.put("freeze_vision_encoder", method.getFreezeVisionEncoder());
        }
        if (method.hasTrainProjector()) {
            into.put("train_projector", method.getTrainProjector());
        }
    }

    private static void hyperparameters(Hyperparameters hyper, ObjectNode into) {
        if (hyper.hasEpochs()) {
            into.put("epochs", hyper.getEpochs());
        }
        if (hyper.hasBatchSize()) {
            into.put("batch_size", hyper.getBatchSize());
        }
        if (hyper.hasLearningRate()) {
            into.put("learning_rate", hyper.getLearningRate());
        }
        if (hyper.hasVisionLearningRateMultiplier()) {
            into.put("vision_learning_rate_multiplier", hyper.getVisionLearningRateMultiplier());
        }
        if (hyper.hasWarmupRatio()) {
            into.put("warmup_ratio", hyper.getWarmupRatio());
        }
        if (hyper.hasWeightDecay()) {
            into.put("weight_decay", hyper.getWeightDecay());
        }
        if (hyper.hasMaxGradNorm()) {
            into.put("max_grad_norm", hyper.getMaxGradNorm());
        }
        if (hyper.hasGradientAccumulationSteps()) {
            into.put("gradient_accumulation_steps", hyper.getGradientAccumulationSteps());
        }
        switch (hyper.getPrecision()) {
            case PRECISION_UNSPECIFIED -> {
            }
            case PRECISION_FP32 -> into.put("precision", "fp32");
            case PRECISION_FP16 -> into.put("precision", "fp16");
            case PRECISION_BF16 -> into.put("precision", "bf16");
            default -> throw ProblemException.invalid("hyperparameters.precision",
                    "hyperparameters.precision must be fp32 or fp16");
        }
    }

    static Map<String, Object> toMap(JobSpec.Method method) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("type", method.type().name());
        if (method.lora() != null) {
            JobSpec.Lora lora = method.lora();
            Map<String, Object> loraMap = new LinkedHashMap<>();
            loraMap.put("rank", lora.rank());
            loraMap.put("alpha", lora.alpha());
            loraMap.put("dropout", lora.dropout());
            loraMap.put("target_modules", List.copyOf(lora.targetModules()));
            map.put("lora", loraMap);
        }
        map.put("freeze_vision_encoder", method.freezeVisionEncoder());
        map.put("train_projector", method.trainProjector());
        return map;
    }

    static Map<String, Object> toMap(JobSpec.Hyperparameters hyper) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("epochs", hyper.epochs());
        map.put("batch_size", hyper.batchSize());
        map.put("learning_rate", hyper.learningRate());
        map.put("vision_learning_rate_multiplier", hyper.visionLearningRateMultiplier());
        map.put("warmup_ratio", hyper.warmupRatio());
        map.put("weight_decay", hyper.weightDecay());
        map.put("max_grad_norm", hyper.maxGradNorm());
        map.put("gradient_accumulation_steps", hyper.gradientAccumulationSteps());
        map.put("precision", hyper.precision().name());
        return map;
    }

    /** The request's precision as the contract names it, for a job read back. */
    static Precision precision(String name) {
        return switch (name) {
            case "fp16" -> Precision.PRECISION_FP16;
            case "bf16" -> Precision.PRECISION_BF16;
            default -> Precision.PRECISION_FP32;
        };
    }
}
