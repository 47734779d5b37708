package dev.loupe.gateway.api;

import java.util.List;
import java.util.Map;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

/**
 * The body of {@code POST /v1/fine-tuning/jobs}. A setting left out is not sent on: the training-service applies
 * its default, and the job shows the value it took. The training-service checks the values and names the field
 * at fault.
 */
@Schema(name = "CreateFineTuningJobRequest")
public record CreateJobBody(
        @Schema(description = "Id of the base model to fine-tune (GET /v1/models)", required = true, examples = "llava-1.5-7b") String model,
        @Schema(description = "Id of the frozen dataset version to train on", required = true) String datasetVersion,
        @Schema(description = "The version's split the job evaluates on, before and after training: `validation` (the default) or `none`", examples = "validation") String validationSplit,
        MethodBody method, HyperparametersBody hyperparameters,
        @Schema(description = "Seed of the run (default 42)") Long seed,
        @Schema(description = "Appended to the name of the resulting model version") String suffix,
        @Schema(description = "At most 16 entries, keys up to 64 and values up to 512 characters") Map<String, String> metadata,
        @Schema(description = "-10 to 10 (default 0); higher runs first among the tenant's queued jobs") Integer priority) {

    /** How the model is trained. */
    @Schema(name = "FineTuningMethodRequest")
    public record MethodBody(
            @Schema(description = "`lora` (the default) or `full`", enumeration = {
                    "lora", "full"}) String type,
            LoraBody lora,
            @Schema(description = "Keep the vision encoder's weights as they are (default true)") Boolean freezeVisionEncoder,
            @Schema(description = "Train the projector between the vision encoder and the language model (default false)") Boolean trainProjector) {
    }

    /** LoRA settings, for the {@code lora} method. */
    @Schema(name = "LoraSettingsRequest")
    public record LoraBody(
            @Schema(description = "Rank of the adapters (default 8)") Integer rank,
            @Schema(description = "Scaling alpha (default 16)") Double alpha,
            @Schema(description = "Dropout on the adapters' input (default 0.05)") Double dropout,
            @Schema(description = "Module-name patterns the adapters apply to (default q_proj, k_proj, v_proj, o_proj)") List<String> targetModules) {
    }

    /** Training hyperparameters. */
    @Schema(name = "HyperparametersRequest")
    public record HyperparametersBody(
            @Schema(description = "Passes over the training split (default 3)") Integer epochs,
            @Schema(description = "Examples per step (default 4)") Integer batchSize,
            @Schema(description = "Peak learning rate (default 1e-4)") Double learningRate,
            @Schema(description = "The vision encoder's learning rate as a share of learning_rate (default 0.1)") Double visionLearningRateMultiplier,
            @Schema(description = "Share of the steps that warm the learning rate up (default 0.03)") Double warmupRatio,
            @Schema(description = "Weight decay (default 0)") Double weightDecay,
            @Schema(description = "Gradient-norm clipping (default 1)") Double maxGradNorm,
            @Schema(description = "Steps whose gradients are summed before each update (default 1)") Integer gradientAccumulationSteps,
            @Schema(description = "`fp32` (the default), `fp16` or `bf16`", enumeration = {
                    "fp32", "fp16", "bf16"}) String precision) {
    }
}
