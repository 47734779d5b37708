package dev.loupe.training.modelstore;

import java.nio.file.Path;
import java.util.SortedMap;

import dev.loupe.training.model.ModelFile;

/**
 * What registering a base model learned from its checkpoint folder.
 *
 * @param folder the folder's real path (symbolic links resolved)
 * @param architecture the architecture family, from {@code config.json}'s {@code model_type}
 * @param parameterCount elements of every tensor, from the safetensors headers
 * @param files every file of the folder by name, with its SHA-256 and size
 * @param contentHash SHA-256 over the files' names and hashes in name order ({@link CheckpointInspector})
 */
public record InspectedCheckpoint(Path folder, String architecture, long parameterCount,
        SortedMap<String, ModelFile> files, String contentHash) {

    /** The {@code file:} URI a base model records as its {@code storage_uri}. */
    public String storageUri() {
        return folder.toUri().toString();
    }
}
