package dev.loupe.engine.serve;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

import ai.djl.ndarray.NDManager;

import dev.loupe.engine.generate.Generation;
import dev.loupe.engine.generate.Generator;
import dev.loupe.engine.generate.SamplingSettings;
import dev.loupe.engine.model.AdapterWeights;
import dev.loupe.engine.model.LoraAdapters;
import dev.loupe.engine.text.ChatMessage;
import dev.loupe.engine.tiny.Scene;
import dev.loupe.engine.tiny.SyntheticScenes;
import dev.loupe.engine.tiny.TinyBase;

/**
 * The engine's own batched generation rate, without a service around it: the figure the serving path is compared
 * with. Greedy answers to the colours question about distinct synthetic scenes, in batches of each size, with the
 * adapter of a PEFT folder on the tiny base: batch size B asks about scenes 0 to B * rounds - 1. Prints one line per
 * batch size:
 * {@code engine batch=B tokens/s=T batches=N}. A benchmark main, not a test.
 *
 * <p>
 * Arguments: {@code --adapter <folder>} (required), {@code --batches 1,4,16}, {@code --rounds 6} (batches per
 * size after one warm-up batch), {@code --max-tokens 32}, {@code --seed 9999} (of the scenes).
 */
public final class ServedModelBenchmark {
    /** The first scene of the warm-up batches, away from those measured. */
    static final int WARM_UP_SCENES = 1000;

    private ServedModelBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path adapter = null;
        List<Integer> batches = List.of(1, 4, 16);
        int rounds = 6;
        int maxTokens = 32;
        long seed = 9999;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--adapter" -> adapter = Path.of(args[i + 1]);
                case "--batches" -> batches = java.util.Arrays.stream(args[i + 1].split(",")).map(Integer::valueOf)
                        .toList();
                case "--rounds" -> rounds = Integer.parseInt(args[i + 1]);
                case "--max-tokens" -> maxTokens = Integer.parseInt(args[i + 1]);
                case "--seed" -> seed = Long.parseLong(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (adapter == null) {
            throw new IllegalArgumentException("--adapter <PEFT folder> is required");
        }
        SyntheticScenes scenes = new SyntheticScenes(seed);
        try (NDManager manager = NDManager.newBaseManager();
                ServedModel model = ServedModel.load(manager, TinyBase.folder());
                AdapterWeights weights = model.readAdapter(
                        Files.readAllBytes(adapter.resolve(LoraAdapters.CONFIG_FILE)),
                        Files.readAllBytes(adapter.resolve(LoraAdapters.WEIGHTS_FILE)))) {
            for (int batch : batches) {
                long tokens = 0;
                long nanos = 0;
                // Scenes 0 .. batch * rounds - 1, as the serving benchmark's clients ask about; the warm-up batch
                // takes others.
                int next = WARM_UP_SCENES;
                for (int round = -1; round < rounds; round++) {
                    if (round == 0) {
                        next = 0;
                    }
                    List<ServedModel.Request> requests = new ArrayList<>();
                    for (int row = 0; row < batch; row++) {
                        Scene scene = scenes.scene(next++);
                        ServedModel.Prompt prompt = model.prompt(
                                List.of(ChatMessage.user("<image>\n" + Scene.COLOURS_QUESTION)),
                                List.of(SyntheticScenes.render(scene)));
                        requests.add(new ServedModel.Request(prompt, SamplingSettings.greedy(maxTokens,
                                Set.of(model.endOfTurnToken())), Optional.empty()));
                    }
                    long start = System.nanoTime();
                    List<Generation> answers = model.complete(weights, requests, Generator.TokenListener.NONE);
                    long elapsed = System.nanoTime() - start;
                    // The first batch of each size warms up and is not counted.
                    if (round >= 0) {
                        nanos += elapsed;
                        tokens += answers.stream().mapToLong(answer -> answer.tokens().length).sum();
                    }
                }
                System.out.printf(Locale.ROOT, "engine batch=%d tokens/s=%.1f batches=%d%n", batch,
                        tokens / (nanos / 1e9), rounds);
            }
        }
    }
}
