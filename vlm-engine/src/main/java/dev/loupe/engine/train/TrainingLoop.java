package dev.loupe.engine.train;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.SplittableRandom;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;

import dev.loupe.engine.model.LlavaModel;
import dev.loupe.engine.nn.Scalars;

/**
 * Trains a {@link LlavaModel} (with or without LoRA adapters) on next-token cross-entropy. One optimizer step:
 * read {@code accumulationSteps} batches, run forward and backward on each (gradients add up), clip the global
 * gradient norm, update with {@link AdamW} at the schedule's rate, clear the gradients, tell the listeners.
 *
 * <p>
 * The step's loss is the mean over all labelled tokens of all its batches, so each batch's sum is divided by the
 * step's total count before its backward pass: accumulating batches then gives the same gradient as one batch
 * holding them all, however the labelled tokens are spread. A batch with no labelled token adds nothing and is not
 * run; a step with none at all is refused.
 *
 * <p>
 * Runs are reproducible: at every step the engine's random generator (LoRA dropout) is seeded from the run's seed
 * and the step, so a resumed run draws what an uninterrupted one would without saving libtorch's generator state,
 * which DJL does not expose. This also reseeds DJL's Java-side generator. Each batch runs in its own
 * sub-manager, where the model puts all its arrays, and its own {@link NDScope}, which would also catch an array
 * an op on a parameter left in the model's manager.
 *
 * <p>
 * One loop per process at a time: DJL allows one gradient collector per process.
 */
public final class TrainingLoop {
    private final LlavaModel model;
    private final AdamW optimizer;
    private final LearningRateSchedule schedule;
    private final TrainingSettings settings;
    private final Collection<Parameter> trainable;
    private final NDManager parameterManager;
    private final DataType dataType;
    private final List<TrainingListener> listeners = new ArrayList<>();
    private final LossScaler lossScaler;
    private long step;
    private long nextBatch;
    private long seed;

    /**
     * @param model initialised, adapters applied if any
     * @param optimizer built over this model's parameters
     */
    public TrainingLoop(LlavaModel model, AdamW optimizer, LearningRateSchedule schedule, TrainingSettings settings) {
        this.model = model;
        this.optimizer = optimizer;
        this.schedule = schedule;
        this.settings = settings;
        this.trainable = optimizer.parameters().values();
        NDArray first = trainable.iterator().next().getArray();
        this.parameterManager = first.getManager();
        this.dataType = model.getParameters().get("embed_tokens").getArray().getDataType();
        this.lossScaler = settings.lossScaling()
                ? new LossScaler(settings.initialLossScale(), settings.lossScaleGrowthInterval())
                : null;
        this.seed = settings.seed();
    }

    public void addListener(TrainingListener listener) {
        listeners.add(listener);
    }

    public LlavaModel model() {
        return model;
    }

    public AdamW optimizer() {
        return optimizer;
    }

    public LearningRateSchedule schedule() {
        return schedule;
    }

    public TrainingSettings settings() {
        return settings;
    }

    /** Where the run stands now. */
    public TrainingState state() {
        TrainingState.LossScale scale = lossScaler == null
                ? null
                : new TrainingState.LossScale(lossScaler.scale(), lossScaler.goodSteps());
        return new TrainingState(step, nextBatch, seed, scale);
    }

    /**
     * Continues from a saved state; the weights and the optimizer's state are restored separately
     * ({@link TrainingCheckpoint#restore} does all three).
     */
    public void restore(TrainingState state) {
        if ((state.lossScale() == null) != (lossScaler == null)) {
            throw new IllegalArgumentException("the saved run " + (lossScaler == null ? "scaled" : "did not scale")
                    + " its loss; these settings do the opposite");
        }
        this.step = state.step();
        this.nextBatch = state.nextBatch();
        this.seed = state.seed();
        if (lossScaler != null) {
            lossScaler.restore(state.lossScale().scale(), state.lossScale().goodSteps());
        }
    }

    /** Runs until the settings' total steps. */
    public List<StepReport> train(TrainingData data) {
        return train(data, settings.totalSteps());
    }

    /**
     * Runs until {@code untilStep} optimizer steps are done (at most the settings' total).
     *
     * @return a report per step run
     */
    public List<StepReport> train(TrainingData data, long untilStep) {
        List<StepReport> reports = new ArrayList<>();
        while (step < Math.min(untilStep, settings.totalSteps())) {
            reports.add(step(data));
        }
        return reports;
    }

    /** Runs one optimizer step. */
    public StepReport step(TrainingData data) {
        long start = System.nanoTime();
        Engine.getInstance().setRandomSeed(stepSeed(seed, step));
        List<TrainingBatch> batches = new ArrayList<>();
        long labelled = 0;
        for (int i = 0; i < settings.accumulationSteps(); i++) {
            TrainingBatch batch = data.batch(nextBatch + i);
            batches.add(batch);
            labelled += CausalLmLoss.labelledTargets(batch.labels());
        }
        if (labelled == 0) {
            throw new IllegalArgumentException("batches " + nextBatch + " to "
                    + (nextBatch + batches.size() - 1) + " hold no labelled token: step " + step + " has no loss");
        }
        double scale = lossScaler == null ? 1 : lossScaler.scale();
        double lossSum = 0;
        long tokens = 0;
        for (TrainingBatch batch : batches) {
            tokens += batch.tokenCount();
            if (CausalLmLoss.labelledTargets(batch.labels()) > 0) {
                lossSum += forwardAndBackward(batch, labelled, scale);
            }
        }

        double learningRate = schedule.learningRate(step);
        double norm = Gradients.globalNorm(trainable) / scale;
        boolean finite = Double.isFinite(norm);
        if (!finite && lossScaler == null) {
            // Cleared, so that the loop stands where it stood before the step.
            Gradients.zero(trainable);
            throw new IllegalStateException("step " + step + ": the gradients are not finite (norm " + norm
                    + "); lower the learning rate, check the data, or scale the loss for FP16");
        }
        if (finite) {
            optimizer.step(learningRate, Gradients.clipFactor(norm, settings.maxGradNorm()) / scale);
        }
        if (lossScaler != null) {
            lossScaler.update(finite);
        }
        Gradients.zero(trainable);
        step++;
        nextBatch += batches.size();

        double seconds = (System.nanoTime() - start) / 1e9;
        StepReport report = new StepReport(step, lossSum / labelled, learningRate, norm, tokens / seconds,
                !finite, scale);
        listeners.forEach(listener -> listener.onStep(report));
        return report;
    }

    /** Mixes the run's seed and the step, so that neighbouring seeds do not share steps' random numbers. */
    static int stepSeed(long seed, long step) {
        return new SplittableRandom(seed ^ (step * 0x9E3779B97F4A7C15L)).nextInt();
    }

    /**
     * Adds one batch's gradients of {@code scale * sum / labelled}.
     *
     * @return the batch's summed loss, unscaled
     */
    private double forwardAndBackward(TrainingBatch batch, long labelled, double scale) {
        try (NDManager manager = parameterManager.newSubManager();
                NDScope scope = new NDScope();
                GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            int rows = batch.size();
            int length = batch.length();
            long[] flatIds = new long[rows * length];
            for (int b = 0; b < rows; b++) {
                System.arraycopy(batch.inputIds()[b], 0, flatIds, b * length, length);
            }
            NDArray ids = manager.create(flatIds, new Shape(rows, length));
            NDArray logits = model.step(new ParameterStore(manager, false), ids, batch.isToken(),
                    pixels(manager, batch.pixels()), null, true);
            NDArray summed = CausalLmLoss.summed(logits, batch.labels());
            NDArray objective = summed.div(Scalars.of(summed, labelled));
            if (scale != 1) {
                objective = objective.mul(Scalars.of(objective, scale));
            }
            collector.backward(objective);
            return summed.toType(DataType.FLOAT64, false).getDouble();
        }
    }

    private NDArray pixels(NDManager manager, float[] values) {
        int side = model.config().visionConfig().imageSize();
        int perImage = 3 * side * side;
        if (values.length % perImage != 0) {
            throw new IllegalArgumentException(values.length + " pixel values are not whole images of 3 x " + side
                    + " x " + side);
        }
        return manager.create(values, new Shape(values.length / perImage, 3, side, side)).toType(dataType, false);
    }
}
