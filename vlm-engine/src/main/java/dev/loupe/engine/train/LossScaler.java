package dev.loupe.engine.train;

/**
 * Dynamic loss scaling as PyTorch's {@code GradScaler} does it: FP16 gradients below about 6e-8 vanish, so the
 * loss is scaled up before the backward pass and the gradients are divided by the same scale before the update.
 * Gradients that overflowed (infinite or NaN) mean the scale is too high: that step is skipped and the scale
 * halved. After {@code growthInterval} good steps in a row the scale doubles, to find the largest safe one again.
 * Scales are powers of two when the initial one is, so scaling and unscaling are exact.
 */
public final class LossScaler {
    private final int growthInterval;
    private double scale;
    private int goodSteps;

    public LossScaler(double initialScale, int growthInterval) {
        if (!(initialScale > 0) || growthInterval < 1) {
            throw new IllegalArgumentException("loss scaling needs an initial scale > 0 and a growth interval >= 1");
        }
        this.scale = initialScale;
        this.growthInterval = growthInterval;
    }

    public double scale() {
        return scale;
    }

    /** Good steps since the scale last changed. */
    public int goodSteps() {
        return goodSteps;
    }

    /** Takes the outcome of a step: whether its gradients were finite. */
    public void update(boolean finite) {
        if (!finite) {
            scale /= 2;
            goodSteps = 0;
            return;
        }
        goodSteps++;
        if (goodSteps == growthInterval) {
            scale *= 2;
            goodSteps = 0;
        }
    }

    /** Continues from a saved state. */
    public void restore(double savedScale, int savedGoodSteps) {
        this.scale = savedScale;
        this.goodSteps = savedGoodSteps;
    }
}
