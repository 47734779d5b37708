package dev.loupe.training.grpc;

import java.util.List;
import java.util.Map;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.training.v1.Checkpoint;
import dev.loupe.contracts.training.v1.EventLevel;
import dev.loupe.contracts.training.v1.EventType;
import dev.loupe.contracts.training.v1.FineTuningJob;
import dev.loupe.contracts.training.v1.Hyperparameters;
import dev.loupe.contracts.training.v1.JobEvent;
import dev.loupe.contracts.training.v1.LoraSettings;
import dev.loupe.contracts.training.v1.Method;
import dev.loupe.contracts.training.v1.Precision;
import dev.loupe.contracts.training.v1.TrainingMethod;
import dev.loupe.support.grpc.ProtoTime;
import dev.loupe.training.model.Job;
import dev.loupe.training.model.JobCheckpoint;

/** Jobs, events and checkpoints as the contract writes them. */
final class JobProtos {
    private JobProtos() {
    }

    static FineTuningJob job(Job job) {
        FineTuningJob.Builder built = FineTuningJob.newBuilder()
                .setId(job.id())
                .setModel(job.baseModelId())
                .setDatasetId(job.datasetId())
                .setDatasetVersionId(job.datasetVersionId())
                .setManifestHash(job.manifestHash())
                .setValidationSplit(job.validationSplit())
                .setMethod(method(job.method()))
                .setHyperparameters(hyperparameters(job.hyperparameters()))
                .setSeed(job.seed())
                .setSuffix(job.suffix())
                .putAllMetadata(job.metadata())
                .setState(job.status().proto)
                .setFailureReason(job.failureReason())
                .setTrainedSteps(job.trainedSteps())
                .setTotalSteps(job.totalSteps())
                .setAttempt(job.attempt())
                .setEstimatedMemoryBytes(job.estimatedMemoryBytes())
                .putAllEvaluation(job.evaluation())
                .putAllBaseEvaluation(job.baseEvaluation())
                .setPriority(job.priority())
                .setCreatedAt(ProtoTime.of(job.createdAt()))
                .setCreatedBy(Actor.newBuilder().setUserId(job.createdByUserId()).setUsername(job.createdByUsername()));
        if (job.resultModelVersionId() != null) {
            built.setResultModelVersionId(job.resultModelVersionId());
        }
        if (job.startedAt() != null) {
            built.setStartedAt(ProtoTime.of(job.startedAt()));
        }
        if (job.finishedAt() != null) {
            built.setFinishedAt(ProtoTime.of(job.finishedAt()));
        }
        return built.build();
    }

    @SuppressWarnings("unchecked")
    private static Method method(Map<String, Object> method) {
        Method.Builder built = Method.newBuilder()
                .setType("full".equals(method.get("type"))
                        ? TrainingMethod.TRAINING_METHOD_FULL
                        : TrainingMethod.TRAINING_METHOD_LORA)
                .setFreezeVisionEncoder((Boolean) method.get("freeze_vision_encoder"))
                .setTrainProjector((Boolean) method.get("train_projector"));
        Object lora = method.get("lora");
        if (lora instanceof Map<?, ?> settings) {
            Map<String, Object> values = (Map<String, Object>) settings;
            built.setLora(LoraSettings.newBuilder()
                    .setRank(((Number) values.get("rank")).intValue())
                    .setAlpha(((Number) values.get("alpha")).doubleValue())
                    .setDropout(((Number) values.get("dropout")).doubleValue())
                    .addAllTargetModules((List<String>) values.get("target_modules")));
        }
        return built.build();
    }

    private static Hyperparameters hyperparameters(Map<String, Object> hyper) {
        return Hyperparameters.newBuilder()
                .setEpochs(((Number) hyper.get("epochs")).intValue())
                .setBatchSize(((Number) hyper.get("batch_size")).intValue())
                .setLearningRate(((Number) hyper.get("learning_rate")).doubleValue())
                .setVisionLearningRateMultiplier(((Number) hyper.get("vision_learning_rate_multiplier")).doubleValue())
                .setWarmupRatio(((Number) hyper.get("warmup_ratio")).doubleValue())
                .setWeightDecay(((Number) hyper.get("weight_decay")).doubleValue())
                .setMaxGradNorm(((Number) hyper.get("max_grad_norm")).doubleValue())
                .setGradientAccumulationSteps(((Number) hyper.get("gradient_accumulation_steps")).intValue())
                .setPrecision(
                        "fp16".equals(hyper.get("precision")) ? Precision.PRECISION_FP16 : Precision.PRECISION_FP32)
                .build();
    }

    static JobEvent event(dev.loupe.training.model.JobEvent event) {
        return JobEvent.newBuilder()
                .setId(event.id())
                .setJobId(event.jobId())
                .setSequence(event.sequence())
                .setLevel(switch (event.level()) {
                    case dev.loupe.training.model.JobEvent.WARN -> EventLevel.EVENT_LEVEL_WARN;
                    case dev.loupe.training.model.JobEvent.ERROR -> EventLevel.EVENT_LEVEL_ERROR;
                    default -> EventLevel.EVENT_LEVEL_INFO;
                })
                .setType(dev.loupe.training.model.JobEvent.METRICS.equals(event.type())
                        ? EventType.EVENT_TYPE_METRICS
                        : EventType.EVENT_TYPE_MESSAGE)
                .setMessage(event.message())
                .putAllMetrics(event.metrics())
                .setCreatedAt(ProtoTime.of(event.createdAt()))
                .build();
    }

    static Checkpoint checkpoint(JobCheckpoint checkpoint) {
        return Checkpoint.newBuilder()
                .setId(checkpoint.id())
                .setJobId(checkpoint.jobId())
                .setStep(checkpoint.step())
                .putAllMetrics(checkpoint.metrics())
                .setContentHash(checkpoint.contentHash())
                .setCreatedAt(ProtoTime.of(checkpoint.createdAt()))
                .build();
    }
}
