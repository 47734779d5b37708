package dev.loupe.training.job;

import dev.loupe.engine.model.LlavaConfig;
import dev.loupe.engine.worker.JobSpec;

/**
 * How much memory a trainer worker will need for a job, worked out before the job is queued so that a job that
 * cannot fit is refused with the setting to change rather than failing hours later. It is an upper bound that
 * errs on the large side:
 *
 * <ul>
 * <li>weights: every parameter at the training precision (FP16 also keeps FP32 master copies of what trains);</li>
 * <li>training state: for each trainable parameter a gradient and AdamW's two moments (FP32);</li>
 * <li>activations kept for the backward pass: every sequence taken at the model's longest
 * ({@code max_position_embeddings}), per decoder layer about {@code 10 h + 3 i} values per token plus two
 * {@code heads x tokens x tokens} attention maps, and the vision tower's layers for the image tokens;</li>
 * <li>a fixed {@value #RUNTIME_BYTES} bytes for the JVM and libtorch themselves.</li>
 * </ul>
 */
public final class MemoryEstimate {
    /** The worker JVM's heap and libtorch's own allocations, measured at about 700 MB on the tiny base. */
    static final long RUNTIME_BYTES = 1L << 30;

    private MemoryEstimate() {
    }

    /**
     * @param parameterCount every parameter of the base model
     */
    public static long bytes(LlavaConfig config, long parameterCount, JobSpec.Method method,
            JobSpec.Hyperparameters hyper) {
        LlavaConfig.TextConfig text = config.textConfig();
        LlavaConfig.VisionConfig vision = config.visionConfig();
        boolean fp16 = hyper.precision() == JobSpec.Precision.fp16;
        long weightBytes = parameterCount * (fp16 ? 2 : 4);

        long visionParameters = (long) vision.numHiddenLayers()
                * (4L * vision.hiddenSize() * vision.hiddenSize()
                        + 2L * vision.hiddenSize() * vision.intermediateSize());
        long trainable;
        if (method.type() == JobSpec.MethodType.full) {
            trainable = method.freezeVisionEncoder() ? Math.max(0, parameterCount - visionParameters) : parameterCount;
        } else {
            trainable = loraParameters(config, method.lora(), !method.freezeVisionEncoder());
        }
        // Gradient and two AdamW moments in FP32, and FP32 master weights with FP16.
        long trainingBytes = trainable * (fp16 ? 16 : 12);

        long tokens = text.maxPositionEmbeddings();
        long h = text.hiddenSize();
        long valueBytes = fp16 ? 2 : 4;
        long perLayer = tokens * (10 * h + 3L * text.intermediateSize()) * valueBytes
                + 2L * text.numAttentionHeads() * tokens * tokens * valueBytes;
        long imageTokens = (long) (vision.imageSize() / vision.patchSize()) * (vision.imageSize() / vision.patchSize())
                + 1;
        long visionPerLayer = imageTokens * (10L * vision.hiddenSize() + 3L * vision.intermediateSize()) * valueBytes
                + 2L * vision.numAttentionHeads() * imageTokens * imageTokens * valueBytes;
        long activationBytes = hyper.batchSize()
                * (perLayer * text.numHiddenLayers() + visionPerLayer * vision.numHiddenLayers());
        return RUNTIME_BYTES + weightBytes + trainingBytes + activationBytes;
    }

    /** Parameters of LoRA adapters on the decoder's (and optionally the vision tower's) layers of the target names. */
    static long loraParameters(LlavaConfig config, JobSpec.Lora lora, boolean visionToo) {
        LlavaConfig.TextConfig text = config.textConfig();
        long h = text.hiddenSize();
        long kv = h / text.numAttentionHeads() * text.numKeyValueHeads();
        long i = text.intermediateSize();
        long perLayer = 0;
        for (String target : lora.targetModules()) {
            perLayer += switch (target) {
                case "q_proj", "o_proj" -> lora.rank() * (h + h);
                case "k_proj", "v_proj" -> lora.rank() * (h + kv);
                case "gate_proj", "up_proj", "down_proj" -> lora.rank() * (h + i);
                default -> 0;
            };
        }
        long total = perLayer * text.numHiddenLayers();
        if (visionToo) {
            long vh = config.visionConfig().hiddenSize();
            long vi = config.visionConfig().intermediateSize();
            long visionPerLayer = 0;
            for (String target : lora.targetModules()) {
                visionPerLayer += switch (target) {
                    case "q_proj", "k_proj", "v_proj", "out_proj" -> lora.rank() * (vh + vh);
                    case "fc1", "fc2" -> lora.rank() * (vh + vi);
                    default -> 0;
                };
            }
            total += visionPerLayer * config.visionConfig().numHiddenLayers();
        }
        return total;
    }
}
