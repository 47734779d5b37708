package dev.loupe.engine.serve;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.loupe.engine.generate.Generation;
import dev.loupe.engine.generate.Generator;
import dev.loupe.engine.generate.SamplingSettings;
import dev.loupe.engine.model.AdapterWeights;
import dev.loupe.engine.model.HfCheckpoint;
import dev.loupe.engine.model.LoraAdapters;
import dev.loupe.engine.model.LoraSettings;
import dev.loupe.engine.nn.AdaptableLinear;
import dev.loupe.engine.text.ChatMessage;
import dev.loupe.engine.tiny.SyntheticScenes;
import dev.loupe.engine.tiny.TinyBase;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Serving: an adapter read from bytes beside the shared base answers as the same adapter loaded into the model,
 * adapters and the base take turns on one copy of the weights, and a batch answers as its rows one by one.
 */
class ServedModelTest {
    private static final LoraSettings SETTINGS = new LoraSettings(4, 8, 0f,
            List.of("q_proj", "v_proj", "gate_proj", "up_proj"), true);

    @TempDir
    static Path dir;
    private static NDManager manager;
    private static ServedModel served;

    @BeforeAll
    static void load() throws Exception {
        manager = NDManager.newBaseManager();
        served = ServedModel.load(manager, TinyBase.folder());
    }

    @AfterAll
    static void close() {
        served.close();
        manager.close();
    }

    /** An adapter with non-zero B (a fresh one would equal the base), saved in the PEFT layout. */
    private static Path adapter(String name, int seed) throws Exception {
        Engine.getInstance().setRandomSeed(seed);
        Path folder = dir.resolve(name);
        try (NDManager scratch = NDManager.newBaseManager(); TinyBase base = TinyBase.load(scratch)) {
            LoraAdapters.apply(scratch, base.model(), SETTINGS);
            for (AdaptableLinear linear : HfCheckpoint.linearModules(base.model()).values()) {
                if (linear.hasAdapter()) {
                    NDArray b = linear.loraB().getArray();
                    b.addi(scratch.randomNormal(0, 0.5f, b.getShape(), b.getDataType()));
                }
            }
            LoraAdapters.save(base.model(), SETTINGS, folder);
        }
        return folder;
    }

    private static AdapterWeights read(Path folder) throws Exception {
        return served.readAdapter(Files.readAllBytes(folder.resolve(LoraAdapters.CONFIG_FILE)),
                Files.readAllBytes(folder.resolve(LoraAdapters.WEIGHTS_FILE)));
    }

    private static ServedModel.Prompt prompt(int scene, String question) {
        BufferedImage image = SyntheticScenes.render(new SyntheticScenes(77).scene(scene));
        return served.prompt(List.of(ChatMessage.user("<image>" + question)), List.of(image));
    }

    private static ServedModel.Request greedy(ServedModel.Prompt prompt, int tokens) {
        return new ServedModel.Request(prompt, SamplingSettings.greedy(tokens, Set.of(served.endOfTurnToken())),
                Optional.empty());
    }

    /** The reference: the adapter loaded into its own copy of the base, generating with the engine's generator. */
    private static long[] loadedAnswer(Path adapter, ServedModel.Prompt prompt, int tokens) throws Exception {
        try (NDManager scratch = NDManager.newBaseManager(); TinyBase base = TinyBase.load(scratch)) {
            if (adapter != null) {
                LoraAdapters.load(scratch, base.model(), adapter);
            }
            NDArray pixels = scratch.create(TinyBase.pixels(prompt.images()),
                    new Shape(prompt.images().size(), 3, SyntheticScenes.IMAGE_SIZE, SyntheticScenes.IMAGE_SIZE));
            return new Generator(base.model(), base.tokenizer().padTokenId())
                    .generate(scratch, List.of(prompt.ids()), pixels,
                            SamplingSettings.greedy(tokens, Set.of(served.endOfTurnToken())), true)
                    .get(0);
        }
    }

    @Test
    void adaptersTakeTurnsOnOneBaseAndAnswerAsTheirLoadedSelves() throws Exception {
        Path first = adapter("first", 11);
        Path second = adapter("second", 12);
        ServedModel.Prompt prompt = prompt(3, "Describe the image.");
        long baseBytes = served.weightBytes();
        try (AdapterWeights one = read(first); AdapterWeights two = read(second)) {
            long[] firstServed = served.complete(one, List.of(greedy(prompt, 12)), Generator.TokenListener.NONE)
                    .get(0).tokens();
            long[] secondServed = served.complete(two, List.of(greedy(prompt, 12)), Generator.TokenListener.NONE)
                    .get(0).tokens();
            long[] baseServed = served.complete(null, List.of(greedy(prompt, 12)), Generator.TokenListener.NONE)
                    .get(0).tokens();
            long[] firstAgain = served.complete(one, List.of(greedy(prompt, 12)), Generator.TokenListener.NONE)
                    .get(0).tokens();

            assertArrayEquals(loadedAnswer(first, prompt, 12), firstServed);
            assertArrayEquals(loadedAnswer(second, prompt, 12), secondServed);
            assertArrayEquals(loadedAnswer(null, prompt, 12), baseServed);
            assertArrayEquals(firstServed, firstAgain);
            assertFalse(java.util.Arrays.equals(firstServed, secondServed), "the two adapters answer alike");
            // Adapters add their own small weights; the base's stay as they were, held once.
            assertEquals(baseBytes, served.weightBytes());
            assertEquals(true, one.bytes() < baseBytes / 10, "an adapter takes " + one.bytes() + " bytes");
        }
    }

    @Test
    void aBatchAnswersAsItsRowsOneByOne() throws Exception {
        Path adapter = adapter("batch", 13);
        List<ServedModel.Request> requests = List.of(greedy(prompt(1, "Describe the image."), 10),
                greedy(prompt(2, "How many shapes are there?"), 6),
                greedy(served.prompt(List.of(ChatMessage.system("Be brief."), ChatMessage.user("<image>What word is "
                        + "written?")), List.of(SyntheticScenes.render(new SyntheticScenes(5).scene(9)))), 14));
        try (AdapterWeights weights = read(adapter)) {
            List<long[]> streamed = new ArrayList<>();
            requests.forEach(r -> streamed.add(new long[0]));
            List<Generation> batched = served.complete(weights, requests, (row, token) -> {
                long[] before = streamed.get(row);
                long[] after = java.util.Arrays.copyOf(before, before.length + 1);
                after[before.length] = token;
                streamed.set(row, after);
                return true;
            });
            for (int i = 0; i < requests.size(); i++) {
                Generation alone = served.complete(weights, List.of(requests.get(i)), Generator.TokenListener.NONE)
                        .get(0);
                assertArrayEquals(alone.tokens(), batched.get(i).tokens(), "row " + i);
                assertEquals(alone.finish(), batched.get(i).finish(), "row " + i);
                assertArrayEquals(batched.get(i).tokens(), streamed.get(i), "the listener heard row " + i);
            }
        }
    }

    @Test
    void aListenerEndsARowAtAStopSequence() {
        ServedModel.Prompt prompt = prompt(4, "Describe the image.");
        Generation whole = served.complete(null, List.of(greedy(prompt, 8)), Generator.TokenListener.NONE).get(0);
        int[] heard = {0};
        Generation cut = served.complete(null, List.of(greedy(prompt, 8)), (row, token) -> ++heard[0] < 3).get(0);
        assertArrayEquals(java.util.Arrays.copyOf(whole.tokens(), 3), cut.tokens());
        assertEquals(Generation.Finish.STOP, cut.finish());
    }

    @Test
    void aPromptMustNameEachPictureOnce() {
        BufferedImage image = SyntheticScenes.render(new SyntheticScenes(1).scene(1));
        assertThrows(IllegalArgumentException.class,
                () -> served.prompt(List.of(ChatMessage.user("Describe the image.")), List.of(image)));
        assertThrows(IllegalArgumentException.class,
                () -> served.prompt(List.of(ChatMessage.user("<image><image>Describe.")), List.of(image)));
    }

    @Test
    void anAdapterOfAnotherShapeIsRefused() throws Exception {
        Path folder = adapter("broken", 14);
        byte[] config = Files.readString(folder.resolve(LoraAdapters.CONFIG_FILE)).replace("\"r\" : 4", "\"r\" : 8")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertThrows(dev.loupe.engine.checkpoint.CheckpointFormatException.class,
                () -> served.readAdapter(config, Files.readAllBytes(folder.resolve(LoraAdapters.WEIGHTS_FILE))));
    }
}
