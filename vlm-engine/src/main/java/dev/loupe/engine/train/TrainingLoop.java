package dev.loupe.engine.train;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.SplittableRandom;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
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
 * Runs are reproducible: before each piece of a batch's forward pass (the embedding, each decoder layer) the
 * engine's random generator (LoRA dropout) is seeded from the run's seed, the step, the batch's position and the
 * piece, so that a resumed run draws what an uninterrupted one would without saving libtorch's generator state,
 * which DJL does not expose, and a piece computed again draws the same masks. The step's start also reseeds DJL's
 * Java-side generator. Each batch runs in its own sub-manager, where the model puts all its arrays, and its own
 * {@link NDScope}, which would also catch an array an op on a parameter left in the model's manager.
 *
 * <p>
 * With {@link TrainingSettings#activationCheckpointing()} a batch's pass runs segment by segment, as PyTorch's
 * {@code checkpoint} does (DJL has no custom autograd functions, so the loop does it by hand): a forward pass that
 * keeps only each decoder layer's input, detached; the head (final norm, language-model head, loss) on the last
 * one, whose backward pass gives the head's gradients and the loss's gradient {@code g} with respect to that input;
 * then, from the last layer down, the layer computed again from its input with the graph recorded and the backward
 * pass of {@code sum(output * g)}, which adds the layer's gradients and gives {@code g} for the layer below; last
 * the embedding, if it trains. Each backward pass adds to the parameters' gradients, as the single one of a whole
 * pass would; on the CPU the gradients come out bitwise the same as without checkpointing.
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
        Accumulated accumulated = accumulateGradients(data);
        double scale = accumulated.scale();

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
        nextBatch += accumulated.batches();

        double seconds = (System.nanoTime() - start) / 1e9;
        StepReport report = new StepReport(step, accumulated.lossSum() / accumulated.labelled(), learningRate, norm,
                accumulated.tokens() / seconds, !finite, scale);
        listeners.forEach(listener -> listener.onStep(report));
        return report;
    }

    /**
     * What the forward and backward passes of a step's batches leave besides the gradients.
     *
     * @param lossSum the summed loss of all labelled tokens, unscaled
     * @param scale the loss scale the gradients carry (1 without loss scaling)
     */
    record Accumulated(double lossSum, long labelled, long tokens, int batches, double scale) {
    }

    /**
     * Runs the forward and backward passes of the next step's batches, adding their gradients (times the loss
     * scale) to the parameters', and neither updates the weights nor moves on: {@link #step} is this and the
     * update. Seen by the tests, which compare the gradients themselves.
     */
    Accumulated accumulateGradients(TrainingData data) {
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
        for (int i = 0; i < batches.size(); i++) {
            TrainingBatch batch = batches.get(i);
            tokens += batch.tokenCount();
            if (CausalLmLoss.labelledTargets(batch.labels()) > 0) {
                lossSum += forwardAndBackward(batch, nextBatch + i, labelled, scale);
            }
        }
        return new Accumulated(lossSum, labelled, tokens, batches.size(), scale);
    }

    /** Mixes the run's seed and the step, so that neighbouring seeds do not share steps' random numbers. */
    static int stepSeed(long seed, long step) {
        return new SplittableRandom(seed ^ (step * 0x9E3779B97F4A7C15L)).nextInt();
    }

    /**
     * The seed of one piece of a batch's forward pass: piece 0 is the embedding, piece {@code i + 1} decoder layer
     * {@code i}. A function of where the run stands only, so that a recomputation and a resumed run draw the same.
     */
    static int pieceSeed(long seed, long step, long batch, int piece) {
        long mixed = new SplittableRandom(stepSeed(seed, step) ^ (batch * 0x9E3779B97F4A7C15L)).nextLong();
        return new SplittableRandom(mixed ^ piece).nextInt();
    }

    private void seedPiece(long batch, int piece) {
        Engine.getInstance().setRandomSeed(pieceSeed(seed, step, batch, piece));
    }

    /**
     * Adds one batch's gradients of {@code scale * sum / labelled}.
     *
     * @param position the batch's position in the data, which its random numbers depend on
     * @return the batch's summed loss, unscaled
     */
    private double forwardAndBackward(TrainingBatch batch, long position, long labelled, double scale) {
        try (NDManager manager = parameterManager.newSubManager();
                NDScope scope = new NDScope()) {
            int rows = batch.size();
            int length = batch.length();
            long[] flatIds = new long[rows * length];
            for (int b = 0; b < rows; b++) {
                System.arraycopy(batch.inputIds()[b], 0, flatIds, b * length, length);
            }
            NDArray ids = manager.create(flatIds, new Shape(rows, length));
            NDArray pixels = pixels(manager, batch.pixels());
            NDList shared = model.sharedLayerInputs(manager, batch.isToken(), dataType);
            ParameterStore store = new ParameterStore(manager, false);
            Objective objective = new Objective(batch.labels(), labelled, scale);
            return settings.activationCheckpointing()
                    ? checkpointed(store, ids, pixels, shared, position, objective)
                    : whole(store, ids, pixels, shared, position, objective);
        }
    }

    /** The batch's pass at once: every activation of every layer stays until the backward pass. */
    private double whole(ParameterStore store, NDArray ids, NDArray pixels, NDList shared, long position,
            Objective objective) {
        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            seedPiece(position, 0);
            NDArray hidden = model.embed(store, ids, pixels, true);
            for (int i = 0; i < model.layerCount(); i++) {
                seedPiece(position, i + 1);
                hidden = model.layer(store, i, hidden, shared, true);
            }
            return objective.backward(collector, model.head(store, hidden, true));
        }
    }

    /**
     * The batch's pass segment by segment (see the class comment). Each segment's arrays live in an
     * {@link NDScope} of their own, closed when the segment is done; only the layers' inputs and one gradient
     * {@code [B, T, C]} outlive a segment.
     */
    private double checkpointed(ParameterStore store, NDArray ids, NDArray pixels, NDList shared, long position,
            Objective objective) {
        int layers = model.layerCount();
        // The first pass runs outside a gradient collector, so libtorch records no graph where DJL left recording
        // off (the engine's thread); where it records anyway, detaching each output and closing the rest still
        // frees the layer's graph.
        NDArray[] inputs = new NDArray[layers + 1];
        try (NDScope segment = new NDScope()) {
            seedPiece(position, 0);
            inputs[0] = kept(model.embed(store, ids, pixels, true).stopGradient());
        }
        for (int i = 0; i < layers; i++) {
            try (NDScope segment = new NDScope()) {
                seedPiece(position, i + 1);
                inputs[i + 1] = kept(model.layer(store, i, inputs[i], shared, true).stopGradient());
            }
        }

        // One collector for all the backward passes: its backward passes add to the parameters' gradients, and
        // neither opening nor closing it clears them.
        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            double loss;
            NDArray gradient;
            try (NDScope segment = new NDScope()) {
                NDArray top = requiringGradient(inputs[layers]);
                loss = objective.backward(collector, model.head(store, top, true));
                gradient = kept(top.getGradient());
            }
            inputs[layers].close();
            for (int i = layers - 1; i >= 0; i--) {
                NDArray below;
                try (NDScope segment = new NDScope()) {
                    seedPiece(position, i + 1);
                    NDArray input = requiringGradient(inputs[i]);
                    NDArray output = model.layer(store, i, input, shared, true);
                    // The gradient is a constant here: this backward pass carries it into the layer unchanged.
                    collector.backward(output.mul(gradient).sum());
                    below = kept(input.getGradient());
                }
                gradient.close();
                inputs[i].close();
                gradient = below;
            }
            if (model.embeddingTrains(ids)) {
                try (NDScope segment = new NDScope()) {
                    seedPiece(position, 0);
                    collector.backward(model.embed(store, ids, pixels, true).mul(gradient).sum());
                }
            }
            gradient.close();
            return loss;
        }
    }

    /** Takes an array out of the innermost scope, so that it outlives the segment that made it. */
    private static NDArray kept(NDArray array) {
        NDScope.unregister(array);
        return array;
    }

    /** A leaf of a new graph over {@code hidden}'s values, whose gradient the backward pass fills. */
    private static NDArray requiringGradient(NDArray hidden) {
        NDArray leaf = hidden.stopGradient();
        leaf.setRequiresGradient(true);
        return leaf;
    }

    /** The loss of one batch, {@code scale * sum / labelled}, as the backward pass starts from it. */
    private record Objective(long[][] labels, long labelled, double scale) {
        /**
         * Runs the backward pass from the loss of these logits.
         *
         * @return the batch's summed loss, unscaled
         */
        double backward(GradientCollector collector, NDArray logits) {
            NDArray summed = CausalLmLoss.summed(logits, labels);
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
