package dev.loupe.engine.train;

/**
 * Where a {@link TrainingLoop} stands: with the weights and the optimizer's state, all a resumed run needs.
 *
 * @param step optimizer steps done (skipped ones included); also the schedule's position
 * @param nextBatch the position of the next batch in the {@link TrainingData}
 * @param seed the run's seed; each step's random numbers derive from it and the step
 * @param lossScale the loss scaler's state; null without loss scaling
 */
public record TrainingState(long step, long nextBatch, long seed, LossScale lossScale) {

    /** A {@link LossScaler}'s state. */
    public record LossScale(double scale, int goodSteps) {
    }
}
