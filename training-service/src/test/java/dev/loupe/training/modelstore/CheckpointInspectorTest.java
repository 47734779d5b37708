package dev.loupe.training.modelstore;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.loupe.support.error.ProblemException;
import dev.loupe.training.TestCheckpoints;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointInspectorTest {
    @TempDir
    Path root;

    private InspectedCheckpoint inspect(Path folder) throws Exception {
        return CheckpointInspector.inspect(folder.toRealPath(), root.toRealPath());
    }

    @Test
    void sameFilesSameHashAndOneChangedByteChangesIt() throws Exception {
        Path first = TestCheckpoints.write(root.resolve("first"));
        Path second = TestCheckpoints.write(root.resolve("second"));
        assertEquals(inspect(first).contentHash(), inspect(second).contentHash());

        Files.writeString(second.resolve("tokenizer.json"), TestCheckpoints.TOKENIZER + " ");
        assertNotEquals(inspect(first).contentHash(), inspect(second).contentHash());
    }

    @Test
    void hiddenEntriesAndSubFoldersAreNotPartOfTheCheckpoint() throws Exception {
        Path folder = TestCheckpoints.write(root.resolve("model"));
        String before = inspect(folder).contentHash();
        Files.createDirectories(folder.resolve(".cache/huggingface"));
        Files.writeString(folder.resolve(".gitattributes"), "*.safetensors filter=lfs");
        Files.createDirectories(folder.resolve("original"));
        Files.writeString(folder.resolve("original/params.json"), "{}");

        InspectedCheckpoint inspected = inspect(folder);

        assertEquals(before, inspected.contentHash());
        assertEquals(3, inspected.files().size());
        assertEquals("llava", inspected.architecture());
        assertEquals(TestCheckpoints.PARAMETERS, inspected.parameterCount());
    }

    @Test
    void linksMustStayInsideTheBoundary(@TempDir Path elsewhere) throws Exception {
        Path folder = TestCheckpoints.write(root.resolve("model"));
        Path outside = Files.writeString(elsewhere.resolve("README.md"), "outside");
        Files.createSymbolicLink(folder.resolve("README.md"), outside);
        ProblemException escaped = assertThrows(ProblemException.class, () -> inspect(folder));
        assertEquals("storage_uri", escaped.field().orElse(null));
        assertTrue(escaped.detail().contains("README.md"), escaped.detail());

        Files.delete(folder.resolve("README.md"));
        Files.createSymbolicLink(folder.resolve("README.md"), folder.resolve("config.json"));
        assertEquals(4, inspect(folder).files().size(), "a link to a file inside the folder is a file like another");

        Files.delete(folder.resolve("README.md"));
        Files.createSymbolicLink(folder.resolve("README.md"), folder.resolve("gone"));
        assertThrows(ProblemException.class, () -> inspect(folder));
    }

    @Test
    void anIndexMustNameFilesOfTheFolder() throws Exception {
        Path folder = TestCheckpoints.writeSharded(root.resolve("sharded"));
        assertEquals(14, inspect(folder).parameterCount());

        Files.move(folder.resolve("model-00002-of-00002.safetensors"), folder.resolve(".hidden.safetensors"));
        Files.writeString(folder.resolve("model.safetensors.index.json"), """
                {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": ".hidden.safetensors"}}
                """);
        ProblemException refused = assertThrows(ProblemException.class, () -> inspect(folder));
        assertTrue(refused.detail().contains(".hidden.safetensors"), refused.detail());
    }
}
