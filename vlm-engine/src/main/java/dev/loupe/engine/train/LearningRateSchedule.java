package dev.loupe.engine.train;

/**
 * Linear warmup from 0 to the peak over {@code warmupSteps}, then cosine decay to {@code minRatio * peak} at
 * {@code totalSteps} (and that floor after it). A pure function of the step, so a resumed run needs only the step
 * to continue the schedule. Step {@code k} is the {@code k}-th optimizer step counted from 0; as in Hugging Face's
 * schedules, step 0 of a warmup has rate 0.
 *
 * @param peak the rate at the end of the warmup
 * @param warmupSteps steps of the linear warmup; 0 starts at the peak
 * @param totalSteps the step at which the decay reaches its floor
 * @param minRatio the floor as a fraction of the peak
 */
public record LearningRateSchedule(double peak, long warmupSteps, long totalSteps, double minRatio) {

    public LearningRateSchedule {
        if (!(peak > 0) || warmupSteps < 0 || totalSteps <= warmupSteps || minRatio < 0 || minRatio > 1) {
            throw new IllegalArgumentException("a schedule needs peak > 0, 0 <= warmupSteps < totalSteps and "
                    + "0 <= minRatio <= 1");
        }
    }

    /** The learning rate of optimizer step {@code step}. */
    public double learningRate(long step) {
        if (step < warmupSteps) {
            return peak * step / warmupSteps;
        }
        double progress = Math.min(1.0, (double) (step - warmupSteps) / (totalSteps - warmupSteps));
        double cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
        return peak * (minRatio + (1 - minRatio) * cosine);
    }
}
