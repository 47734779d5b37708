package dev.loupe.training.modelstore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;

import dev.loupe.training.model.ModelFile;

/**
 * The content hash of a folder the trainer worker wrote (a checkpoint, an adapter): the base models' content hash
 * ({@link CheckpointInspector#contentHash}) over every file below the folder, named by its path relative to the
 * folder ({@code /}-separated), sub-folders included.
 */
public final class FolderHash {
    private FolderHash() {
    }

    public static String of(Path folder) throws IOException {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(folder)) {
            files = walk.filter(Files::isRegularFile).toList();
        }
        SortedMap<String, ModelFile> manifest = new TreeMap<>();
        for (Path file : files) {
            String name = folder.relativize(file).toString().replace(folder.getFileSystem().getSeparator(), "/");
            manifest.put(name, CheckpointInspector.hashFile(file));
        }
        return CheckpointInspector.contentHash(manifest);
    }
}
