package dev.loupe.engine.worker;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.loupe.engine.checkpoint.CheckpointFormatException;
import dev.loupe.engine.checkpoint.DType;
import dev.loupe.engine.drift.DriftReference;
import dev.loupe.engine.drift.ImageEmbeddings;
import dev.loupe.engine.drift.ImageStatistics;
import dev.loupe.engine.image.ImagePreprocessor;
import dev.loupe.engine.model.HfCheckpoint;
import dev.loupe.engine.model.LlavaConfig;
import dev.loupe.engine.model.LlavaModel;
import dev.loupe.engine.model.LoraAdapters;
import dev.loupe.engine.model.LoraSettings;
import dev.loupe.engine.text.ChatMessage;
import dev.loupe.engine.text.ChatTokenizer;
import dev.loupe.engine.train.AdamW;
import dev.loupe.engine.train.LearningRateSchedule;
import dev.loupe.engine.train.StepReport;
import dev.loupe.engine.train.TrainingCheckpoint;
import dev.loupe.engine.train.TrainingLoop;
import dev.loupe.engine.train.TrainingSettings;

/**
 * The trainer worker: the process the training-service starts for each fine-tuning job (a JVM of its own, since
 * DJL allows one gradient collector per process). {@code java ... dev.loupe.engine.worker.TrainerWorker job.json}
 * reads the {@link JobSpec}, checks it and everything it points to, fine-tunes, and reports as it goes.
 *
 * <p>
 * A job spec (keys left out take the defaults {@link JobSpec} lists; relative paths are relative to the spec's
 * folder):
 *
 * <pre>
 * {
 *   "job_id": "ft-2024-0042",
 *   "base_model": "/models/llava-1.5-7b",
 *   "output": "/jobs/ft-2024-0042",
 *   "train_examples": "/datasets/receipts/train.jsonl",
 *   "validation_examples": "/datasets/receipts/validation.jsonl",
 *   "method": {
 *     "type": "lora",
 *     "lora": {"rank": 16, "alpha": 32, "dropout": 0.05, "target_modules": ["q_proj", "v_proj"]},
 *     "freeze_vision_encoder": true,
 *     "train_projector": false
 *   },
 *   "hyperparameters": {
 *     "epochs": 3, "batch_size": 4, "learning_rate": 0.0002, "vision_learning_rate_multiplier": 0.1,
 *     "warmup_ratio": 0.03, "weight_decay": 0.0, "max_grad_norm": 1.0, "gradient_accumulation_steps": 2,
 *     "precision": "fp32"
 *   },
 *   "seed": 42,
 *   "checkpoint_every_steps": 100
 * }
 * </pre>
 *
 * The examples are JSONL files ({@link JsonlExampleSource}), or with {@code "examples_on_stdin": true} a feed on
 * standard input ({@link StreamedExamples}), which the worker reads to its end before it starts.
 *
 * <p>
 * Standard output carries the reports and nothing else, one JSON object a line ({@link JsonLinesReports});
 * logs go to standard error. A run reports, in this order: {@code started}; with validation examples, the base
 * model's {@code evaluation}; {@code metrics} after every optimizer step, {@code checkpoint} after every save and,
 * at the end of every epoch but the last, the model's {@code evaluation}; the fine-tuned model's
 * {@code evaluation}; then {@code succeeded}, or at any point {@code failed} with a reason.
 * {@code message} reports (info, warning) may come in between. For example:
 *
 * <pre>
 * {"type":"started","job_id":"ft-2024-0042","total_steps":300,"resumed_from_step":0}
 * {"type":"evaluation","model":"base","step":0,"loss":2.31,"token_accuracy":0.41,"exact_match":0.05,"examples":40}
 * {"type":"metrics","step":1,"epoch":0.01,"loss":2.27,"learning_rate":0.0,"grad_norm":3.1,"tokens_per_second":812.5,"skipped":false}
 * {"type":"checkpoint","step":100,"path":"/jobs/ft-2024-0042/checkpoints/step-100"}
 * {"type":"evaluation","model":"fine_tuned","step":300,"loss":0.52,"token_accuracy":0.86,"exact_match":0.6,"examples":40}
 * {"type":"succeeded","output":"/jobs/ft-2024-0042","adapter":"/jobs/ft-2024-0042/adapter"}
 * </pre>
 *
 * <p>
 * Exit codes: 0 on success; 1 on a failure during the run (reported first); 2 when the spec, or an input it points
 * to (the base model's files, an example), is invalid, the report naming the field; 143 after a stop on request.
 *
 * <p>
 * The output folder receives {@code checkpoints/step-N} (the last two complete ones are kept),
 * {@code evaluation.json} (the {@code base} and {@code fine_tuned} scores) and the result: {@code adapter/} in
 * PEFT's layout for LoRA, {@code model/} as a Hugging Face folder with the tokenizer for full fine-tuning, either
 * with the training data's drift reference ({@link DriftReference#FILE}) that serving compares live traffic with.
 * The base
 * model's folder is only read. A checkpoint is saved every {@code checkpoint_every_steps} steps (by default once
 * an epoch) and at the end. Started again on the same output, the worker resumes from the latest complete
 * checkpoint, and ends with weights bitwise equal to those of an uninterrupted run: batches are read by position
 * ({@link ExampleBatches}) and the checkpoint holds the optimizer's and the loop's state
 * ({@link TrainingCheckpoint}). Checkpoints of a run with another base model, other examples, method,
 * hyperparameters or seed are refused.
 *
 * <p>
 * Cancelling and pausing: SIGTERM (what {@code Process.destroy()} and {@code kill} send) makes the worker finish
 * the step it is in, save a checkpoint, report a message and exit with 143; during an evaluation it stops between
 * batches. The JVM's shutdown hook waits up to {@value #STOP_GRACE_MINUTES} minutes for this, so the service should
 * allow at least one step's time before it kills the process outright. Starting the worker again with the same spec
 * resumes the job.
 */
public final class TrainerWorker {
    static final String CHECKPOINTS_FOLDER = "checkpoints";
    static final String EVALUATION_FILE = "evaluation.json";
    static final String ADAPTER_FOLDER = "adapter";
    static final String MODEL_FOLDER = "model";
    static final String TOKENIZER_FILE = "tokenizer.json";
    /** In the checkpoints folder: the settings of the run its checkpoints belong to. */
    static final String RUN_SETTINGS_FILE = "run-settings.txt";
    private static final int KEPT_CHECKPOINTS = 2;
    /** Pictures the drift reference measures at most: enough for stable quantiles, a few seconds on a CPU. */
    static final int DRIFT_REFERENCE_IMAGES = 1000;
    /** Hugging Face's default largest shard when saving a whole model. */
    private static final long SHARD_BYTES = 5_000_000_000L;
    /** PyTorch's {@code GradScaler} defaults. */
    private static final double FP16_INITIAL_LOSS_SCALE = 65536;
    private static final int FP16_SCALE_GROWTH_INTERVAL = 2000;
    static final long STOP_GRACE_MINUTES = 10;
    private static final System.Logger LOG = System.getLogger(TrainerWorker.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();

    /** How a run ended, and the process's exit code for it. */
    public enum Outcome {
        SUCCEEDED(0), FAILED(1), INVALID_SPEC(2),
        /** Stopped on request (SIGTERM) with a checkpoint to resume from: the code of a process SIGTERM ended. */
        STOPPED(143);

        private final int exitCode;

        Outcome(int exitCode) {
            this.exitCode = exitCode;
        }

        public int exitCode() {
            return exitCode;
        }
    }

    /**
     * What a run did.
     *
     * @param step the optimizer steps the model has at the end (those of the resumed checkpoint included)
     * @param artifact the {@code adapter} or {@code model} folder; null unless the run succeeded
     */
    public record Result(Outcome outcome, long step, Path artifact) {
    }

    private final JobSpec spec;
    private final ExampleSource trainExamples;
    private final ExampleSource validationExamples;
    private final WorkerReports reports;
    /** The SHA-256 of the example feed with {@code examples_on_stdin}; null for examples in files. */
    private final String feedSha256;
    private volatile boolean stopRequested;

    /** A worker that reads the spec's JSONL example files. */
    public TrainerWorker(JobSpec spec, WorkerReports reports) {
        this(spec, new JsonlExampleSource(spec.trainExamples()),
                spec.validationExamples() == null ? null : new JsonlExampleSource(spec.validationExamples()), null,
                reports);
    }

    /** A worker for a spec with {@code examples_on_stdin}, with the feed already read. */
    public TrainerWorker(JobSpec spec, StreamedExamples.Feed feed, WorkerReports reports) {
        this(spec, feed::train, feed.validation().isEmpty() ? null : feed::validation, feed.sha256(), reports);
    }

    private TrainerWorker(JobSpec spec, ExampleSource trainExamples, ExampleSource validationExamples,
            String feedSha256, WorkerReports reports) {
        this.spec = spec;
        this.trainExamples = trainExamples;
        this.validationExamples = validationExamples;
        this.feedSha256 = feedSha256;
        this.reports = reports;
    }

    /**
     * Asks the run to stop at the next safe point: after the step in progress (then it saves a checkpoint), or
     * between two evaluation batches. Safe to call from any thread, e.g. a shutdown hook.
     */
    public void requestStop() {
        stopRequested = true;
    }

    public static void main(String[] args) {
        // The reports own standard output: whatever else anything prints goes to standard error, so that the
        // stream the service parses stays one JSON object a line.
        PrintStream reportStream = System.out;
        System.setOut(System.err);
        WorkerReports reports = new JsonLinesReports(reportStream);
        Optional<TrainerWorker> worker = fromArguments(args, reports);
        if (worker.isEmpty()) {
            System.exit(Outcome.INVALID_SPEC.exitCode());
            return;
        }
        CountDownLatch finished = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            // On SIGTERM the JVM runs this hook while the run goes on: ask it to stop and wait until it has saved.
            // After a normal end the latch is already open.
            worker.get().requestStop();
            try {
                finished.await(STOP_GRACE_MINUTES, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "trainer-worker-stop"));
        Result result = worker.get().run();
        finished.countDown();
        System.exit(result.outcome().exitCode());
    }

    /** The worker of a command line ({@code <job spec file>}), or empty after reporting why there is none. */
    static Optional<TrainerWorker> fromArguments(String[] args, WorkerReports reports) {
        if (args.length != 1) {
            reports.report(new WorkerReport.Failed("the trainer worker takes one argument, the job spec's path"));
            return Optional.empty();
        }
        try {
            JobSpec spec = JobSpec.read(Path.of(args[0]));
            if (spec.examplesOnStdin()) {
                return Optional.of(new TrainerWorker(spec, StreamedExamples.read(System.in), reports));
            }
            return Optional.of(new TrainerWorker(spec, reports));
        } catch (JobSpecException | ExampleFormatException e) {
            reports.report(new WorkerReport.Failed(e.getMessage()));
        } catch (IOException e) {
            reports.report(new WorkerReport.Failed("cannot read the job spec " + args[0] + ": " + e.getMessage()));
        }
        return Optional.empty();
    }

    /** Runs the job to its end and reports it; a failure is reported, never thrown. */
    public Result run() {
        try {
            return train();
        } catch (JobSpecException e) {
            LOG.log(System.Logger.Level.ERROR, e.getMessage());
            reports.report(new WorkerReport.Failed(e.getMessage()));
            return new Result(Outcome.INVALID_SPEC, 0, null);
        } catch (OutOfMemoryError e) {
            LOG.log(System.Logger.Level.ERROR, "out of memory", e);
            reports.report(new WorkerReport.Failed("the worker ran out of memory: lower hyperparameters.batch_size "
                    + "(raising gradient_accumulation_steps keeps the effective batch) or give the worker more "
                    + "memory"));
            return new Result(Outcome.FAILED, 0, null);
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "the job failed", e);
            reports.report(new WorkerReport.Failed(e.getMessage() != null
                    ? e.getMessage()
                    : "internal error of the trainer worker (" + e.getClass().getSimpleName() + "); see its log"));
            return new Result(Outcome.FAILED, 0, null);
        }
    }

    private Result train() throws IOException {
        Path base = spec.baseModel();
        LlavaConfig config = JobInputs.config(base);
        JobSpec.Hyperparameters hyper = spec.hyperparameters();
        try (NDManager manager = NDManager.newBaseManager();
                ChatTokenizer tokenizer = JobInputs.tokenizer(base, config)) {
            ImagePreprocessor preprocessor = JobInputs.preprocessor(base, config);
            List<EncodedExample> train = JobInputs.examples("train_examples", trainExamples, tokenizer, preprocessor,
                    config);
            Evaluator evaluator = null;
            if (validationExamples != null) {
                List<EncodedExample> validation = JobInputs.examples("validation_examples", validationExamples,
                        tokenizer,
                        preprocessor, config);
                try {
                    evaluator = new Evaluator(validation, tokenizer, preprocessor, hyper.batchSize(),
                            config.textConfig().maxPositionEmbeddings());
                } catch (IllegalArgumentException e) {
                    throw new JobSpecException("validation_examples", "validation_examples: " + e.getMessage(), e);
                }
            }
            ExampleBatches data = new ExampleBatches(train, hyper.batchSize(), hyper.gradientAccumulationSteps(),
                    spec.seed(), preprocessor, tokenizer.padTokenId());
            long totalSteps = hyper.epochs() * data.stepsPerEpoch();
            long every = spec.checkpointEverySteps() > 0 ? spec.checkpointEverySteps() : data.stepsPerEpoch();

            Checkpoints checkpoints = new Checkpoints(spec.output().resolve(CHECKPOINTS_FOLDER));
            Optional<Path> resumeFrom = checkpoints.latest();
            checkRunSettings(checkpoints, resumeFrom.isPresent());
            long resumedFrom = resumeFrom.map(Checkpoints::step).orElse(0L);
            reports.report(new WorkerReport.Started(spec.jobId(), totalSteps, resumedFrom));
            if (resumeFrom.isPresent()) {
                reports.report(new WorkerReport.Message(WorkerReport.Level.info,
                        "resuming from the checkpoint of step " + resumedFrom + " of " + totalSteps));
            }

            LlavaModel model = JobInputs.model(manager, base, hyper.precision());
            WorkerReport.Evaluation baseScores = null;
            if (evaluator != null) {
                // Resuming, the settings are those of the run that measured the base (checked above).
                baseScores = resumeFrom.isPresent() ? savedBaseEvaluation().orElse(null) : null;
                if (baseScores == null) {
                    Optional<Evaluator.Scores> scores = evaluator.evaluate(manager, model, () -> stopRequested);
                    if (scores.isEmpty()) {
                        return stopped(resumedFrom, "during the base model's evaluation");
                    }
                    baseScores = evaluation(WorkerReport.EvaluatedModel.base, 0, scores.get());
                    reports.report(baseScores);
                    writeEvaluations(baseScores, null);
                }
            }

            LoraSettings lora = prepareMethod(manager, model);
            LOG.log(System.Logger.Level.INFO, "{0} examples, {1} steps, {2} trainable parameters", train.size(),
                    totalSteps, trainableParameters(model));
            try (AdamW optimizer = optimizer(model)) {
                TrainingLoop loop = new TrainingLoop(model, optimizer, schedule(totalSteps), settings(totalSteps));
                if (resumeFrom.isPresent()) {
                    restore(resumeFrom.get(), loop);
                }
                long saved = loop.state().step();
                while (loop.state().step() < totalSteps) {
                    if (stopRequested) {
                        return stopAndSave(loop, lora, checkpoints, saved);
                    }
                    StepReport step = loop.step(data);
                    reports.report(metrics(step, data.stepsPerEpoch()));
                    if (step.step() % every == 0 || step.step() == totalSteps) {
                        save(loop, lora, checkpoints);
                        saved = step.step();
                    }
                    if (evaluator != null && step.step() % data.stepsPerEpoch() == 0 && step.step() < totalSteps) {
                        // An epoch ended: users follow the validation scores epoch by epoch (overfitting shows
                        // there). A stop during it is taken at the loop's next turn, which saves first.
                        evaluator.evaluate(manager, model, () -> stopRequested)
                                .ifPresent(scores -> reports.report(evaluation(WorkerReport.EvaluatedModel.fine_tuned,
                                        step.step(), scores)));
                    }
                }
                if (stopRequested) {
                    return stopped(totalSteps, "after the last step; its checkpoint is saved");
                }
                if (evaluator != null) {
                    Optional<Evaluator.Scores> scores = evaluator.evaluate(manager, model, () -> stopRequested);
                    if (scores.isEmpty()) {
                        return stopped(totalSteps, "during the fine-tuned model's evaluation");
                    }
                    WorkerReport.Evaluation fineTuned = evaluation(WorkerReport.EvaluatedModel.fine_tuned,
                            totalSteps, scores.get());
                    reports.report(fineTuned);
                    writeEvaluations(baseScores, fineTuned);
                }
                DriftReference reference = driftReference(manager, model, train, tokenizer, preprocessor);
                Path artifact = writeArtifact(model, lora, base, reference);
                reports.report(new WorkerReport.Succeeded(spec.output().toString(),
                        lora != null ? artifact.toString() : null, lora == null ? artifact.toString() : null));
                return new Result(Outcome.SUCCEEDED, totalSteps, artifact);
            }
        }
    }

    /**
     * The checkpoints folder remembers the settings of its run; a run resumes only from checkpoints of the same
     * settings, or it would not end where an uninterrupted run would.
     */
    private void checkRunSettings(Checkpoints checkpoints, boolean resuming) throws IOException {
        Path file = checkpoints.root().resolve(RUN_SETTINGS_FILE);
        String settings = spec.trainingSettings(feedSha256);
        if (resuming && Files.exists(file)) {
            String saved = Files.readString(file);
            if (!saved.equals(settings)) {
                throw new JobSpecException("output", "output " + spec.output() + " holds checkpoints of a run with "
                        + "another base model, other examples, method, hyperparameters or seed (" + saved + "); use a "
                        + "new output folder, or the settings of that run");
            }
            return;
        }
        Files.createDirectories(checkpoints.root());
        Files.writeString(file, settings);
    }

    /**
     * Makes the parameters that should train the only ones that require gradients: LoRA adapters (on the vision
     * tower's layers too when it is not frozen), or for full fine-tuning everything but the frozen parts.
     *
     * @return the LoRA settings; null for full fine-tuning
     */
    private LoraSettings prepareMethod(NDManager manager, LlavaModel model) {
        JobSpec.Method method = spec.method();
        if (method.type() == JobSpec.MethodType.full) {
            if (method.freezeVisionEncoder()) {
                child(model, "vision_tower").freezeParameters(true);
            }
            if (!method.trainProjector()) {
                child(model, "multi_modal_projector").freezeParameters(true);
            }
            return null;
        }
        JobSpec.Lora settings = method.lora();
        LoraSettings lora = new LoraSettings(settings.rank(), settings.alpha(), (float) settings.dropout(),
                settings.targetModules(), !method.freezeVisionEncoder());
        Set<String> layers = new TreeSet<>();
        for (String module : HfCheckpoint.linearModules(model).keySet()) {
            boolean vision = module.startsWith("vision_tower.");
            if (!module.startsWith("multi_modal_projector.") && (!vision || lora.visionEncoder())) {
                layers.add(module.substring(module.lastIndexOf('.') + 1));
            }
        }
        List<String> unknown = settings.targetModules().stream().filter(t -> !layers.contains(t)).toList();
        if (!unknown.isEmpty()) {
            throw new JobSpecException("method.lora.target_modules", "method.lora.target_modules names " + unknown
                    + ", which the model's " + (lora.visionEncoder() ? "" : "language ") + "layers do not have; "
                    + "they have " + layers);
        }
        // The adapters' random start follows from the run's seed alone.
        Engine.getInstance().setRandomSeed(Long.hashCode(spec.seed()));
        LoraAdapters.apply(manager, model, lora);
        return lora;
    }

    private static Block child(LlavaModel model, String name) {
        return childEntry(model, name).getValue();
    }

    /** A child block by its name; DJL's key for it prefixes its two-digit position. */
    private static Pair<String, Block> childEntry(LlavaModel model, String name) {
        for (Pair<String, Block> child : model.getChildren()) {
            if (child.getKey().substring(2).equals(name)) {
                return child;
            }
        }
        throw new IllegalStateException("the model has no " + name);
    }

    /** AdamW with the vision tower's parameters in groups of their own rate (biases and norms not decayed). */
    private AdamW optimizer(LlavaModel model) {
        JobSpec.Hyperparameters hyper = spec.hyperparameters();
        String vision = childEntry(model, "vision_tower").getKey() + "_";
        double multiplier = hyper.visionLearningRateMultiplier();
        return AdamW.builder()
                .optWeightDecay(hyper.weightDecay())
                .addGroup(new AdamW.ParameterGroup("vision_no_decay",
                        name -> name.startsWith(vision) && AdamW.ParameterGroup.isBiasOrNorm(name), multiplier, 0))
                .addGroup(new AdamW.ParameterGroup("vision", name -> name.startsWith(vision), multiplier,
                        hyper.weightDecay()))
                .build(model);
    }

    /** Warmup over {@code ceil(warmup_ratio * total)} steps (fewer than the total), then cosine decay to 0. */
    private LearningRateSchedule schedule(long totalSteps) {
        long warmup = Math.min((long) Math.ceil(spec.hyperparameters().warmupRatio() * totalSteps), totalSteps - 1);
        return new LearningRateSchedule(spec.hyperparameters().learningRate(), warmup, totalSteps, 0);
    }

    private TrainingSettings settings(long totalSteps) {
        JobSpec.Hyperparameters hyper = spec.hyperparameters();
        TrainingSettings.Builder builder = TrainingSettings.builder()
                .setTotalSteps(totalSteps)
                .optAccumulationSteps(hyper.gradientAccumulationSteps())
                .optMaxGradNorm(hyper.maxGradNorm())
                .optSeed(spec.seed());
        if (hyper.precision() == JobSpec.Precision.fp16) {
            builder.optLossScaling(FP16_INITIAL_LOSS_SCALE, FP16_SCALE_GROWTH_INTERVAL);
        }
        return builder.build();
    }

    private void restore(Path checkpoint, TrainingLoop loop) throws IOException {
        try {
            TrainingCheckpoint.restore(checkpoint, loop);
        } catch (CheckpointFormatException | IllegalArgumentException e) {
            throw new IOException("the checkpoint " + checkpoint + " does not fit this job (" + e.getMessage()
                    + "); use a new output folder", e);
        }
    }

    private static WorkerReport.Metrics metrics(StepReport step, long stepsPerEpoch) {
        return new WorkerReport.Metrics(step.step(), (double) step.step() / stepsPerEpoch, step.loss(),
                step.learningRate(), Double.isFinite(step.gradNorm()) ? step.gradNorm() : null,
                step.tokensPerSecond(), step.skipped());
    }

    private void save(TrainingLoop loop, LoraSettings lora, Checkpoints checkpoints) throws IOException {
        Path folder = checkpoints.folder(loop.state().step());
        TrainingCheckpoint.save(folder, loop, lora);
        checkpoints.prune(KEPT_CHECKPOINTS);
        reports.report(new WorkerReport.Checkpoint(loop.state().step(), folder.toString()));
    }

    /** Stops between steps: saves the steps done since the last checkpoint, so that none is lost. */
    private Result stopAndSave(TrainingLoop loop, LoraSettings lora, Checkpoints checkpoints, long saved)
            throws IOException {
        long step = loop.state().step();
        if (step == 0) {
            return stopped(0, "before the first step; there is nothing to save");
        }
        if (step != saved) {
            save(loop, lora, checkpoints);
        }
        return stopped(step, "after step " + step + "; its checkpoint is saved");
    }

    private Result stopped(long step, String when) {
        reports.report(new WorkerReport.Message(WorkerReport.Level.info, "stopped on request " + when
                + "; start the worker again with the same spec to resume"));
        return new Result(Outcome.STOPPED, step, null);
    }

    private static WorkerReport.Evaluation evaluation(WorkerReport.EvaluatedModel model, long step,
            Evaluator.Scores scores) {
        return WorkerReport.Evaluation.of(model, step, scores.loss(), scores.tokenAccuracy(), scores.exactMatch(),
                scores.examples(), scores.answers());
    }

    /**
     * Writes {@code evaluation.json}: {@code {"base": {...}, "fine_tuned": {...}}}, each with {@code step},
     * {@code loss}, {@code token_accuracy}, {@code exact_match} and {@code examples}.
     */
    private void writeEvaluations(WorkerReport.Evaluation base, WorkerReport.Evaluation fineTuned)
            throws IOException {
        ObjectNode root = JSON.createObjectNode();
        for (WorkerReport.Evaluation evaluation : new WorkerReport.Evaluation[]{base, fineTuned}) {
            if (evaluation != null) {
                ObjectNode scores = root.putObject(evaluation.model().name())
                        .put("step", evaluation.step())
                        .put("loss", evaluation.loss())
                        .put("token_accuracy", evaluation.tokenAccuracy())
                        .put("exact_match", evaluation.exactMatch())
                        .put("examples", evaluation.examples());
                evaluation.answerScores().forEach(scores::put);
            }
        }
        Files.createDirectories(spec.output());
        Path temporary = spec.output().resolve(EVALUATION_FILE + ".tmp");
        JSON.writerWithDefaultPrettyPrinter().writeValue(temporary.toFile(), root);
        Files.move(temporary, spec.output().resolve(EVALUATION_FILE), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
    }

    /** The base model's scores the interrupted run saved, so that the resumed run need not measure them again. */
    private Optional<WorkerReport.Evaluation> savedBaseEvaluation() throws IOException {
        Path file = spec.output().resolve(EVALUATION_FILE);
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        JsonNode base = JSON.readTree(file.toFile()).path(WorkerReport.EvaluatedModel.base.name());
        if (!base.isObject()) {
            return Optional.empty();
        }
        Map<String, Double> answers = new LinkedHashMap<>();
        for (String name : AnswerScores.NAMES) {
            if (base.path(name).isNumber()) {
                answers.put(name, base.path(name).asDouble());
            }
        }
        return Optional.of(WorkerReport.Evaluation.of(WorkerReport.EvaluatedModel.base, base.path("step").asLong(),
                base.path("loss").asDouble(), base.path("token_accuracy").asDouble(),
                base.path("exact_match").asDouble(), base.path("examples").asInt(), answers));
    }

    /**
     * Writes the result: the adapters in PEFT's layout, or the whole model as a Hugging Face folder with the base's
     * tokenizer and preprocessor files. It is written beside its final place and then moved there, so that a folder
     * of the final name is always complete.
     */
    private Path writeArtifact(LlavaModel model, LoraSettings lora, Path base, DriftReference reference)
            throws IOException {
        Path target = spec.output().resolve(lora != null ? ADAPTER_FOLDER : MODEL_FOLDER);
        Path partial = spec.output().resolve(target.getFileName() + ".partial");
        Checkpoints.deleteTree(partial);
        if (lora != null) {
            LoraAdapters.save(model, lora, partial);
        } else {
            DType type = spec.hyperparameters().precision() == JobSpec.Precision.fp16 ? DType.F16 : DType.F32;
            HfCheckpoint.save(model, partial, type, SHARD_BYTES);
            for (String file : List.of(TOKENIZER_FILE, ImagePreprocessor.CONFIG_FILE)) {
                if (Files.exists(base.resolve(file))) {
                    Files.copy(base.resolve(file), partial.resolve(file));
                }
            }
        }
        Files.write(partial.resolve(DriftReference.FILE), reference.toJson());
        Checkpoints.deleteTree(target);
        Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
        return target;
    }

    /**
     * The drift reference of the training split, measured with the trained model: every answer's length and form,
     * and the statistics and vision features of up to {@value #DRIFT_REFERENCE_IMAGES} pictures spread evenly over
     * the examples.
     */
    private static DriftReference driftReference(NDManager manager, LlavaModel model, List<EncodedExample> train,
            ChatTokenizer tokenizer, ImagePreprocessor preprocessor) {
        DriftReference.Builder reference = new DriftReference.Builder();
        List<TrainingExample.Image> all = new ArrayList<>();
        for (EncodedExample example : train) {
            all.addAll(example.example().images());
            lastTrainedAnswer(example.example())
                    .ifPresent(answer -> reference.addAnswer(tokenizer.text(answer).length, answer));
        }
        List<BufferedImage> images = new ArrayList<>();
        int count = Math.min(all.size(), DRIFT_REFERENCE_IMAGES);
        for (int i = 0; i < count; i++) {
            TrainingExample.Image image = all.get((int) ((long) i * all.size() / count));
            try {
                images.add(ImagePreprocessor.decode(image.read()));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the image " + image.name() + ": " + e.getMessage(), e);
            }
        }
        images.forEach(image -> reference.addImage(ImageStatistics.of(image)));
        ImageEmbeddings.of(manager, model, preprocessor, images).forEach(reference::addEmbedding);
        return reference.build();
    }

    private static Optional<String> lastTrainedAnswer(TrainingExample example) {
        String answer = null;
        for (TrainingExample.Turn turn : example.turns()) {
            if (turn.trained() && turn.message().role() == ChatMessage.Role.assistant) {
                answer = turn.message().content();
            }
        }
        return Optional.ofNullable(answer);
    }

    /** For logs: the trainable parameter count, which tells at a glance whether the method froze what it should. */
    private static long trainableParameters(LlavaModel model) {
        long count = 0;
        for (Pair<String, Parameter> parameter : model.getParameters()) {
            if (parameter.getValue().getArray().hasGradient()) {
                count += parameter.getValue().getArray().size();
            }
        }
        return count;
    }
}
