package dev.loupe.engine.train;

/** Hears from a {@link TrainingLoop} after each optimizer step, e.g. to log progress or to save checkpoints. */
@FunctionalInterface
public interface TrainingListener {
    void onStep(StepReport report);
}
