package dev.loupe.engine.generate;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;

/** Picks the next token from one row of logits, in Java doubles (a vocabulary row is small next to the model). */
final class Sampling {
    private Sampling() {
    }

    static long pick(double[] logits, SamplingSettings settings, Random random) {
        if (settings.temperature() == 0) {
            int best = 0;
            for (int i = 1; i < logits.length; i++) {
                if (logits[i] > logits[best]) {
                    best = i;
                }
            }
            return best;
        }
        Integer[] order = IntStream.range(0, logits.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> logits[i]).reversed());
        int keep = settings.topK() == 0 ? logits.length : Math.min(settings.topK(), logits.length);
        double max = logits[order[0]];
        double[] weights = new double[keep];
        double total = 0;
        for (int r = 0; r < keep; r++) {
            weights[r] = Math.exp((logits[order[r]] - max) / settings.temperature());
            total += weights[r];
        }
        // Nucleus: the smallest prefix of the ranking whose probability reaches top-p.
        double cumulative = 0;
        int nucleus = keep;
        for (int r = 0; r < keep; r++) {
            cumulative += weights[r] / total;
            if (cumulative >= settings.topP()) {
                nucleus = r + 1;
                break;
            }
        }
        // Masked tokens (minus infinity) weigh 0; rounding must not let the walk below run past the last token that
        // weighs something and return one of them.
        while (nucleus > 1 && weights[nucleus - 1] == 0) {
            nucleus--;
        }
        double mass = 0;
        for (int r = 0; r < nucleus; r++) {
            mass += weights[r];
        }
        double target = random.nextDouble() * mass;
        for (int r = 0; r < nucleus; r++) {
            target -= weights[r];
            if (target <= 0) {
                return order[r];
            }
        }
        return order[nucleus - 1];
    }
}
