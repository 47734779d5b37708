package dev.loupe.engine.worker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * A fine-tuning job as the training-service hands it to {@link TrainerWorker}: a JSON object with snake_case keys
 * (an example is in {@link TrainerWorker}'s documentation). Every value is checked on reading, and a value out of
 * range, a value of the wrong type or a key the spec does not have is refused with a {@link JobSpecException} that
 * names the field: a misspelt key would otherwise leave its default in place without a word. Numbers are not
 * coerced (neither {@code "3"} nor {@code 2.5} is an integer). Relative paths are resolved against the spec file's
 * folder.
 *
 * @param jobId the training-service's id of the job, repeated in the reports
 * @param baseModel a Hugging Face LLaVA folder: {@code config.json}, {@code model.safetensors} (or shards),
 *        {@code tokenizer.json}, optionally {@code preprocessor_config.json}; only read
 * @param output where checkpoints, {@code evaluation.json} and the result ({@code adapter/} or {@code model/})
 *        go; a folder that already holds checkpoints of this job is resumed
 * @param trainExamples a JSONL file of examples ({@link JsonlExampleSource}); null when the examples come on
 *        standard input
 * @param validationExamples another, for evaluation before and after training; null for none
 * @param examplesOnStdin {@code examples_on_stdin}: the training and validation examples come on standard input
 *        ({@link StreamedExamples}) instead of files, which {@code train_examples} and {@code validation_examples}
 *        must then not name
 * @param seed the run's seed: example order, adapter initialisation and dropout follow from it
 * @param checkpointEverySteps a checkpoint every this many optimizer steps; 0 (the default) for one per epoch
 */
public record JobSpec(String jobId, Path baseModel, Path output, Path trainExamples, Path validationExamples,
        boolean examplesOnStdin, Method method, Hyperparameters hyperparameters, long seed, long checkpointEverySteps) {

    private static final ObjectMapper JSON = JsonMapper.builder()
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();
    private static final int MAX_JOB_ID_LENGTH = 128;
    private static final long DEFAULT_SEED = 42;

    /** How the model is fine-tuned. */
    public enum MethodType {
        /** LoRA adapters on the base's frozen linear layers; the result is the adapters alone. */
        lora,
        /** Every parameter not frozen by the switches trains; the result is the whole model. */
        full
    }

    /** The parameters' type while training. */
    public enum Precision {
        fp32,
        /** FP16 weights and activations with FP32 master weights in the optimizer and dynamic loss scaling. */
        fp16
    }

    /**
     * @param type {@code lora} (the default) or {@code full}
     * @param lora the adapters' settings; null for {@code full}
     * @param freezeVisionEncoder true (the default) keeps the vision tower as it is; false trains it (with LoRA:
     *        adapters on its layers of the target names too)
     * @param trainProjector whether the projector trains (default false); {@code full} only, because LoRA
     *        checkpoints and results hold adapters alone
     */
    public record Method(MethodType type, Lora lora, boolean freezeVisionEncoder, boolean trainProjector) {

        @JsonCreator
        static Method of(@JsonProperty("type") String type, @JsonProperty("lora") Lora lora,
                @JsonProperty("freeze_vision_encoder") Boolean freezeVisionEncoder,
                @JsonProperty("train_projector") Boolean trainProjector) {
            MethodType methodType = MethodType.lora;
            if (type != null) {
                try {
                    methodType = MethodType.valueOf(type);
                } catch (IllegalArgumentException e) {
                    throw new JobSpecException("method.type", "method.type must be lora or full, not " + type);
                }
            }
            if (methodType == MethodType.full && lora != null) {
                throw new JobSpecException("method.lora", "method.lora applies to method.type lora only");
            }
            boolean projector = trainProjector != null && trainProjector;
            if (methodType == MethodType.lora && projector) {
                throw new JobSpecException("method.train_projector", "method.train_projector must be false with "
                        + "method.type lora (LoRA checkpoints and results hold adapters only); use type full to train "
                        + "the projector");
            }
            return new Method(methodType, methodType == MethodType.lora && lora == null ? Lora.defaults() : lora,
                    freezeVisionEncoder == null || freezeVisionEncoder, projector);
        }

        static Method defaults() {
            return of(null, null, null, null);
        }
    }

    /**
     * @param rank the adapters' inner width, 1 to 1024 (default 8)
     * @param alpha the adapters' output is scaled by {@code alpha / rank} (default 16)
     * @param dropout on the adapters' input, in [0, 1) (default 0.05)
     * @param targetModules last names of the linear layers that get adapters (default the attention projections
     *        {@code q_proj k_proj v_proj o_proj})
     */
    public record Lora(int rank, double alpha, double dropout, List<String> targetModules) {

        @JsonCreator
        static Lora of(@JsonProperty("rank") Integer rank, @JsonProperty("alpha") Double alpha,
                @JsonProperty("dropout") Double dropout,
                @JsonProperty("target_modules") List<String> targetModules) {
            int r = whole(rank, "method.lora.rank", 8, 1, 1024);
            double a = number(alpha, "method.lora.alpha", 16);
            if (!(a > 0) || Double.isInfinite(a)) {
                throw new JobSpecException("method.lora.alpha", "method.lora.alpha must be a number > 0");
            }
            double d = number(dropout, "method.lora.dropout", 0.05);
            if (!(d >= 0 && d < 1)) {
                throw new JobSpecException("method.lora.dropout", "method.lora.dropout must be in [0, 1)");
            }
            List<String> targets = targetModules == null
                    ? List.of("q_proj", "k_proj", "v_proj", "o_proj")
                    : targetModules;
            if (targets.isEmpty() || targets.stream().anyMatch(t -> t == null || t.isBlank())
                    || new HashSet<>(targets).size() != targets.size()) {
                throw new JobSpecException("method.lora.target_modules", "method.lora.target_modules must be a "
                        + "non-empty list of distinct layer names, e.g. [\"q_proj\", \"v_proj\"]");
            }
            return new Lora(r, a, d, List.copyOf(targets));
        }

        static Lora defaults() {
            return of(null, null, null, null);
        }
    }

    /**
     * @param epochs passes over the training examples, 1 to 1000 (default 3)
     * @param batchSize examples per batch, 1 to 1024 (default 4)
     * @param learningRate the peak rate, in (0, 1] (default 1e-4)
     * @param visionLearningRateMultiplier the vision tower's rate is the schedule's times this, in [0, 10]
     *        (default 0.1); it matters when the tower trains
     * @param warmupRatio the share of the steps that warm the rate up linearly, in [0, 1) (default 0.03); the rest
     *        decays along a cosine to 0
     * @param weightDecay AdamW's decoupled weight decay, in [0, 1] (default 0); biases and norms are never decayed
     * @param maxGradNorm the global gradient norm is clipped to this, > 0 (default 1)
     * @param gradientAccumulationSteps batches per optimizer step, 1 to 1024 (default 1)
     * @param precision {@code fp32} (the default) or {@code fp16}
     */
    public record Hyperparameters(int epochs, int batchSize, double learningRate, double visionLearningRateMultiplier,
            double warmupRatio, double weightDecay, double maxGradNorm, int gradientAccumulationSteps,
            Precision precision) {

        @JsonCreator
        static Hyperparameters of(@JsonProperty("epochs") Integer epochs,
                @JsonProperty("batch_size") Integer batchSize,
                @JsonProperty("learning_rate") Double learningRate,
                @JsonProperty("vision_learning_rate_multiplier") Double visionLearningRateMultiplier,
                @JsonProperty("warmup_ratio") Double warmupRatio,
                @JsonProperty("weight_decay") Double weightDecay,
                @JsonProperty("max_grad_norm") Double maxGradNorm,
                @JsonProperty("gradient_accumulation_steps") Integer gradientAccumulationSteps,
                @JsonProperty("precision") String precision) {
            String p = "hyperparameters.";
            int e = whole(epochs, p + "epochs", 3, 1, 1000);
            int b = whole(batchSize, p + "batch_size", 4, 1, 1024);
            double lr = number(learningRate, p + "learning_rate", 1e-4);
            if (!(lr > 0 && lr <= 1)) {
                throw new JobSpecException(p + "learning_rate", p + "learning_rate must be in (0, 1]");
            }
            double vision = number(visionLearningRateMultiplier, p + "vision_learning_rate_multiplier", 0.1);
            if (!(vision >= 0 && vision <= 10)) {
                throw new JobSpecException(p + "vision_learning_rate_multiplier",
                        p + "vision_learning_rate_multiplier must be in [0, 10]");
            }
            double warmup = number(warmupRatio, p + "warmup_ratio", 0.03);
            if (!(warmup >= 0 && warmup < 1)) {
                throw new JobSpecException(p + "warmup_ratio", p + "warmup_ratio must be in [0, 1)");
            }
            double decay = number(weightDecay, p + "weight_decay", 0);
            if (!(decay >= 0 && decay <= 1)) {
                throw new JobSpecException(p + "weight_decay", p + "weight_decay must be in [0, 1]");
            }
            double norm = number(maxGradNorm, p + "max_grad_norm", 1);
            if (!(norm > 0) || Double.isInfinite(norm)) {
                throw new JobSpecException(p + "max_grad_norm", p + "max_grad_norm must be a number > 0");
            }
            int accumulation = whole(gradientAccumulationSteps, p + "gradient_accumulation_steps", 1, 1, 1024);
            Precision type = Precision.fp32;
            if (precision != null) {
                try {
                    type = Precision.valueOf(precision);
                } catch (IllegalArgumentException ex) {
                    throw new JobSpecException(p + "precision", p + "precision must be fp32 or fp16, not "
                            + precision + (precision.toLowerCase(Locale.ROOT).contains("bf16")
                                    ? " (BF16 aborts DJL's PyTorch engine on CPU)"
                                    : ""));
                }
            }
            return new Hyperparameters(e, b, lr, vision, warmup, decay, norm, accumulation, type);
        }

        static Hyperparameters defaults() {
            return of(null, null, null, null, null, null, null, null, null);
        }
    }

    @JsonCreator
    static JobSpec of(@JsonProperty("job_id") String jobId, @JsonProperty("base_model") String baseModel,
            @JsonProperty("output") String output, @JsonProperty("train_examples") String trainExamples,
            @JsonProperty("validation_examples") String validationExamples,
            @JsonProperty("examples_on_stdin") Boolean examplesOnStdin,
            @JsonProperty("method") Method method,
            @JsonProperty("hyperparameters") Hyperparameters hyperparameters,
            @JsonProperty("seed") Long seed,
            @JsonProperty("checkpoint_every_steps") Long checkpointEverySteps) {
        if (jobId == null || jobId.isBlank() || jobId.length() > MAX_JOB_ID_LENGTH
                || jobId.chars().anyMatch(Character::isISOControl)) {
            throw new JobSpecException("job_id", "job_id must be a non-blank string of at most " + MAX_JOB_ID_LENGTH
                    + " printable characters");
        }
        long every = checkpointEverySteps == null ? 0 : checkpointEverySteps;
        if (every < 1 && checkpointEverySteps != null) {
            throw new JobSpecException("checkpoint_every_steps", "checkpoint_every_steps must be at least 1 (leave "
                    + "it out for one checkpoint per epoch)");
        }
        boolean onStdin = examplesOnStdin != null && examplesOnStdin;
        if (onStdin && (trainExamples != null || validationExamples != null)) {
            throw new JobSpecException(trainExamples != null ? "train_examples" : "validation_examples",
                    "with examples_on_stdin the examples come on standard input: leave train_examples and "
                            + "validation_examples out");
        }
        return new JobSpec(jobId, path(baseModel, "base_model", true), path(output, "output", true),
                path(trainExamples, "train_examples", !onStdin), path(validationExamples, "validation_examples", false),
                onStdin, method == null ? Method.defaults() : method,
                hyperparameters == null ? Hyperparameters.defaults() : hyperparameters,
                seed == null ? DEFAULT_SEED : seed, every);
    }

    /**
     * Reads and checks a spec file.
     *
     * @throws JobSpecException naming the field at fault, also for a file that is no JSON object
     * @throws IOException if the file cannot be read
     */
    public static JobSpec read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new JobSpecException("", "the job spec " + file + " is not a file");
        }
        return parse(Files.readString(file), file.toAbsolutePath().getParent());
    }

    /**
     * Reads and checks a spec.
     *
     * @param folder relative paths are resolved against it
     * @throws JobSpecException naming the field at fault
     */
    public static JobSpec parse(String json, Path folder) {
        JobSpec spec;
        try {
            spec = JSON.readValue(json, JobSpec.class);
        } catch (ValueInstantiationException e) {
            // A value refused while reading: its message names the field, Jackson's wrapping would only hide it.
            if (e.getCause() instanceof JobSpecException refused) {
                throw refused;
            }
            throw new JobSpecException(field(e), "the job spec is not valid: " + e.getOriginalMessage(), e);
        } catch (UnrecognizedPropertyException e) {
            String field = field(e);
            String known = e.getKnownPropertyIds() == null
                    ? ""
                    : " (known keys: " + e.getKnownPropertyIds()
                            .stream()
                            .map(String::valueOf)
                            .sorted()
                            .collect(Collectors.joining(", ")) + ")";
            throw new JobSpecException(field, field + " is not a key of the job spec" + known, e);
        } catch (MismatchedInputException e) {
            String field = field(e);
            if (field.isEmpty()) {
                throw new JobSpecException("", "the job spec must be one JSON object", e);
            }
            throw new JobSpecException(field, field + " must be " + expected(e.getTargetType()), e);
        } catch (JsonProcessingException e) {
            throw new JobSpecException(field(e), "the job spec is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (spec == null) {
            throw new JobSpecException("", "the job spec must be one JSON object");
        }
        return spec.resolvedAgainst(folder);
    }

    private JobSpec resolvedAgainst(Path folder) {
        return new JobSpec(jobId, folder.resolve(baseModel), folder.resolve(output),
                trainExamples == null ? null : folder.resolve(trainExamples),
                validationExamples == null ? null : folder.resolve(validationExamples), examplesOnStdin, method,
                hyperparameters, seed,
                checkpointEverySteps);
    }

    /**
     * What decides the weights a run ends with, as text: the base model, the examples, the method, the
     * hyperparameters and the seed. A run may resume only from checkpoints made with the same, or it would not end
     * where an uninterrupted run would.
     *
     * @param streamedExamples the SHA-256 of the example feed with {@code examples_on_stdin}; null otherwise
     */
    String trainingSettings(String streamedExamples) {
        String examples = examplesOnStdin
                ? "examples_on_stdin sha256=" + streamedExamples
                : "train_examples=" + trainExamples + "; validation_examples=" + validationExamples;
        return "base_model=" + baseModel + "; " + examples + "; method=" + method + "; hyperparameters="
                + hyperparameters + "; seed=" + seed;
    }

    /** The dotted path of the field an exception is about, e.g. {@code method.lora.rank}; empty for the root. */
    private static String field(JsonProcessingException e) {
        if (!(e instanceof JsonMappingException mapping)) {
            return "";
        }
        StringBuilder path = new StringBuilder();
        for (JsonMappingException.Reference reference : mapping.getPath()) {
            if (reference.getFieldName() != null) {
                path.append(path.length() > 0 ? "." : "").append(reference.getFieldName());
            } else if (reference.getIndex() >= 0) {
                path.append('[').append(reference.getIndex()).append(']');
            }
        }
        return path.toString();
    }

    private static String expected(Class<?> type) {
        if (type == null) {
            return "of another type";
        }
        if (type == Integer.class || type == Long.class || type == int.class || type == long.class) {
            return "a whole number";
        }
        if (type == Double.class || type == double.class) {
            return "a number";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        if (type == String.class) {
            return "a string";
        }
        if (List.class.isAssignableFrom(type)) {
            return "a list";
        }
        return "an object";
    }

    private static int whole(Integer value, String field, int absent, int min, int max) {
        int v = value == null ? absent : value;
        if (v < min || v > max) {
            throw new JobSpecException(field, field + " must be in [" + min + ", " + max + "]");
        }
        return v;
    }

    private static double number(Double value, String field, double absent) {
        double v = value == null ? absent : value;
        if (!Double.isFinite(v)) {
            throw new JobSpecException(field, field + " must be a finite number");
        }
        return v;
    }

    private static Path path(String value, String field, boolean required) {
        if (value == null) {
            if (required) {
                throw new JobSpecException(field, field + " is required");
            }
            return null;
        }
        if (value.isBlank()) {
            throw new JobSpecException(field, field + " must not be blank");
        }
        try {
            return Path.of(value);
        } catch (InvalidPathException e) {
            throw new JobSpecException(field, field + " is not a valid path: " + e.getReason(), e);
        }
    }
}
