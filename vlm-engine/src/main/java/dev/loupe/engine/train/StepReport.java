package dev.loupe.engine.train;

/**
 * What one optimizer step did.
 *
 * @param step optimizer steps done, this one included (1 after the first)
 * @param loss the mean cross-entropy over the step's labelled tokens, before loss scaling
 * @param learningRate the schedule's rate for this step (before group multipliers)
 * @param gradNorm the global gradient norm before clipping (after unscaling); not finite on a skipped step
 * @param tokensPerSecond real tokens (not padding) of the step's batches over the step's wall time
 * @param skipped whether the update was skipped because the scaled gradients overflowed
 * @param lossScale the loss scale this step used; 1 without loss scaling
 */
public record StepReport(long step, double loss, double learningRate, double gradNorm, double tokensPerSecond,
        boolean skipped, double lossScale) {
}
