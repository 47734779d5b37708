package dev.loupe.engine.train;

import java.util.List;

/**
 * The training batches as a sequence the loop reads by position. Random access (rather than an iterator) is what
 * makes resuming exact: a checkpoint stores the position of the next batch, and a resumed run reads from there.
 * Shuffling belongs in the implementation, as a function of the position and a seed.
 */
@FunctionalInterface
public interface TrainingData {
    /** The batch at a position, counted from 0 over the whole run (across epochs). */
    TrainingBatch batch(long position);

    /** The given batches in order, over and over: epoch {@code e} reads them again after epoch {@code e - 1}. */
    static TrainingData cycling(List<TrainingBatch> batches) {
        List<TrainingBatch> copy = List.copyOf(batches);
        if (copy.isEmpty()) {
            throw new IllegalArgumentException("no batches");
        }
        return position -> copy.get((int) (position % copy.size()));
    }
}
