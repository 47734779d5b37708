package dev.loupe.engine.tiny;

import java.nio.file.Files;
import java.nio.file.Path;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A few steps of the pretraining run write a checkpoint folder that {@link TinyBase} loads. */
class PretrainTinyBaseTest {
    @TempDir
    Path dir;

    @Test
    void aShortRunWritesALoadableCheckpointWithItsReadme() throws Exception {
        PretrainTinyBase.Settings settings = new PretrainTinyBase.Settings(3, 3, 4, 1e-3, 1, 300, 4,
                dir.resolve("tiny"));
        PretrainTinyBase.Result result = PretrainTinyBase.run(settings);

        assertEquals(3, result.steps());
        assertTrue(Double.isFinite(result.firstLoss()) && result.firstLoss() > 0);
        assertEquals(4, result.captions().answers().size());
        String readme = Files.readString(settings.output().resolve("README.md"));
        assertTrue(readme.contains("-Dexec.args=\"" + settings.arguments() + "\""), readme);
        try (NDManager manager = NDManager.newBaseManager();
                TinyBase base = TinyBase.load(manager, settings.output())) {
            assertEquals(300, base.model().config().textConfig().vocabSize());
            assertEquals(9, base.model().config().imageTokens(), "one image token per cell of the 3 x 3 grid");
        }
        assertEquals(settings, PretrainTinyBase.Settings.parse(settings.arguments().split(" ")));
    }
}
