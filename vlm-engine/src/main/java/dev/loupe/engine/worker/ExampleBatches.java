package dev.loupe.engine.worker;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import dev.loupe.engine.image.ImagePreprocessor;
import dev.loupe.engine.text.EncodedChat;
import dev.loupe.engine.train.TrainingBatch;
import dev.loupe.engine.train.TrainingData;

/**
 * A job's training examples as batches by position, for the {@link dev.loupe.engine.train.TrainingLoop}. With N
 * examples, batch size B and A batches per optimizer step, an epoch is {@code ceil(N / (B A))} steps of A batches;
 * position p lies in epoch {@code p / (A * stepsPerEpoch)}, and batch j of an epoch holds the examples at places
 * {@code [jB, min(N, (j + 1)B))} of the epoch's order, a permutation drawn from the seed and the epoch alone. So a
 * resumed run, which continues from a saved position, reads exactly the batches the interrupted one would have.
 *
 * <p>
 * When B A does not divide N, the epoch's last step runs short: its last batch is partial and any after it are
 * empty, a lone padding token without a label, which the loop skips (every step still has a batch with examples,
 * since the step starts before the N-th example). Steps therefore never straddle two epochs.
 */
final class ExampleBatches implements TrainingData {
    private final List<EncodedExample> examples;
    private final int batchSize;
    private final long batchesPerEpoch;
    private final long stepsPerEpoch;
    private final long seed;
    private final ImagePreprocessor preprocessor;
    private final long padId;
    private long orderEpoch = -1;
    private int[] order;

    ExampleBatches(List<EncodedExample> examples, int batchSize, int accumulationSteps, long seed,
            ImagePreprocessor preprocessor, long padId) {
        if (examples.isEmpty() || batchSize < 1 || accumulationSteps < 1) {
            throw new IllegalArgumentException("batches need examples, batchSize >= 1 and accumulationSteps >= 1");
        }
        this.examples = List.copyOf(examples);
        this.batchSize = batchSize;
        long perStep = (long) batchSize * accumulationSteps;
        this.stepsPerEpoch = (examples.size() + perStep - 1) / perStep;
        this.batchesPerEpoch = stepsPerEpoch * accumulationSteps;
        this.seed = seed;
        this.preprocessor = preprocessor;
        this.padId = padId;
    }

    long stepsPerEpoch() {
        return stepsPerEpoch;
    }

    @Override
    public TrainingBatch batch(long position) {
        long epoch = position / batchesPerEpoch;
        long first = (position % batchesPerEpoch) * batchSize;
        int[] epochOrder = order(epoch);
        List<EncodedExample> rows = new ArrayList<>();
        for (long i = first; i < Math.min(examples.size(), first + batchSize); i++) {
            rows.add(examples.get(epochOrder[(int) i]));
        }
        if (rows.isEmpty()) {
            return new TrainingBatch(new long[][]{{padId}}, new long[][]{{EncodedChat.IGNORED_LABEL}},
                    new boolean[][]{{false}}, new float[0]);
        }
        return TrainingBatch.fromChats(rows.stream().map(EncodedExample::chat).toList(), padId,
                EncodedExample.pixels(rows, preprocessor));
    }

    /**
     * The epoch's order of the examples: a Fisher-Yates shuffle driven by a generator seeded from the run's seed and
     * the epoch, so that neighbouring epochs (and seeds) do not share orders. The loop reads positions in order, so
     * the last epoch's order is kept rather than drawn again for every batch.
     *
     * @return the examples' indices in the epoch's order; the caller must not change the array
     */
    synchronized int[] order(long epoch) {
        if (epoch != orderEpoch) {
            SplittableRandom random = new SplittableRandom(seed ^ ((epoch + 1) * 0x9E3779B97F4A7C15L));
            int[] shuffled = new int[examples.size()];
            for (int i = 0; i < shuffled.length; i++) {
                shuffled[i] = i;
            }
            for (int i = shuffled.length - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int swap = shuffled[i];
                shuffled[i] = shuffled[j];
                shuffled[j] = swap;
            }
            order = shuffled;
            orderEpoch = epoch;
        }
        return order;
    }
}
