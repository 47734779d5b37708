package dev.loupe.engine.train;

/**
 * How a {@link TrainingLoop} runs. Built with {@link #builder()}: {@code setTotalSteps} is required, the rest
 * optional.
 */
public final class TrainingSettings {
    private final long totalSteps;
    private final int accumulationSteps;
    private final double maxGradNorm;
    private final long seed;
    private final double initialLossScale;
    private final int lossScaleGrowthInterval;
    private final boolean activationCheckpointing;

    private TrainingSettings(Builder builder) {
        this.totalSteps = builder.totalSteps;
        this.accumulationSteps = builder.accumulationSteps;
        this.maxGradNorm = builder.maxGradNorm;
        this.seed = builder.seed;
        this.initialLossScale = builder.initialLossScale;
        this.lossScaleGrowthInterval = builder.lossScaleGrowthInterval;
        this.activationCheckpointing = builder.activationCheckpointing;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Optimizer steps of the whole run. */
    public long totalSteps() {
        return totalSteps;
    }

    /** Batches whose gradients one optimizer step adds up. */
    public int accumulationSteps() {
        return accumulationSteps;
    }

    /** The global gradient norm is clipped to this; infinite never clips. */
    public double maxGradNorm() {
        return maxGradNorm;
    }

    /** Seeds the engine's random numbers (LoRA dropout) at every step, from this and the step. */
    public long seed() {
        return seed;
    }

    /** Whether the loss is scaled dynamically, for FP16 gradients. */
    public boolean lossScaling() {
        return initialLossScale > 0;
    }

    public double initialLossScale() {
        return initialLossScale;
    }

    public int lossScaleGrowthInterval() {
        return lossScaleGrowthInterval;
    }

    /** Whether the decoder layers' activations are recomputed in the backward pass instead of kept. */
    public boolean activationCheckpointing() {
        return activationCheckpointing;
    }

    /** Builds {@link TrainingSettings}. */
    public static final class Builder {
        private long totalSteps;
        private int accumulationSteps = 1;
        private double maxGradNorm = 1.0;
        private long seed;
        private double initialLossScale;
        private int lossScaleGrowthInterval;
        private boolean activationCheckpointing;

        private Builder() {
        }

        public Builder setTotalSteps(long totalSteps) {
            this.totalSteps = totalSteps;
            return this;
        }

        /** Default 1: every batch is one optimizer step. */
        public Builder optAccumulationSteps(int accumulationSteps) {
            this.accumulationSteps = accumulationSteps;
            return this;
        }

        /** Default 1.0, the usual choice for fine-tuning; {@code Double.POSITIVE_INFINITY} turns clipping off. */
        public Builder optMaxGradNorm(double maxGradNorm) {
            this.maxGradNorm = maxGradNorm;
            return this;
        }

        /** Default 0. */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * Turns on dynamic loss scaling: the loss is multiplied by the scale before the backward pass so that
         * small FP16 gradients do not underflow; a step whose gradients overflow is skipped and halves the scale;
         * {@code growthInterval} good steps in a row double it. PyTorch's defaults are 65536 and 2000.
         */
        public Builder optLossScaling(double initialScale, int growthInterval) {
            this.initialLossScale = initialScale;
            this.lossScaleGrowthInterval = growthInterval;
            return this;
        }

        /**
         * Default false. Activation checkpointing trades compute for memory: the forward pass keeps only each
         * decoder layer's input {@code [B, T, C]}, and the backward pass recomputes one layer at a time from it. The
         * memory for activations drops from every layer's intermediates (attention scores, MLP activations, for all
         * layers at once) to one layer's plus the layers' inputs, at the cost of about one more forward pass (the
         * embedding, with the vision tower, is recomputed too when it trains). Gradients and results are those of a
         * run without it: dropout draws the same masks in the recomputation as in the first pass.
         */
        public Builder optActivationCheckpointing(boolean activationCheckpointing) {
            this.activationCheckpointing = activationCheckpointing;
            return this;
        }

        public TrainingSettings build() {
            if (totalSteps < 1 || accumulationSteps < 1 || !(maxGradNorm > 0)) {
                throw new IllegalArgumentException("training needs totalSteps >= 1, accumulationSteps >= 1 and "
                        + "maxGradNorm > 0");
            }
            if (initialLossScale < 0 || (initialLossScale > 0 && lossScaleGrowthInterval < 1)) {
                throw new IllegalArgumentException("loss scaling needs an initial scale > 0 and a growth interval "
                        + ">= 1");
            }
            return new TrainingSettings(this);
        }
    }
}
