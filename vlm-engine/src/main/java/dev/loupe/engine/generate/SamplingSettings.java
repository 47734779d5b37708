package dev.loupe.engine.generate;

import java.util.Set;

/**
 * How to pick each next token.
 *
 * @param temperature 0 for greedy (the most likely token); else logits are divided by it before sampling
 * @param topK sample among the K most likely tokens only; 0 for no limit
 * @param topP sample among the most likely tokens whose probabilities add up to P; 1 for no limit
 * @param seed the random generator's seed: the same prompt, settings and seed give the same text
 * @param stopTokens a row ends when it produces one of these (it is not part of the result)
 */
public record SamplingSettings(int maxNewTokens, double temperature, int topK, double topP, long seed,
        Set<Long> stopTokens) {

    public SamplingSettings {
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("maxNewTokens must be at least 1");
        }
        if (temperature < 0 || topK < 0 || topP <= 0 || topP > 1) {
            throw new IllegalArgumentException("temperature >= 0, topK >= 0 and 0 < topP <= 1 are required");
        }
        stopTokens = Set.copyOf(stopTokens);
    }

    public static SamplingSettings greedy(int maxNewTokens, Set<Long> stopTokens) {
        return new SamplingSettings(maxNewTokens, 0, 0, 1, 0, stopTokens);
    }
}
