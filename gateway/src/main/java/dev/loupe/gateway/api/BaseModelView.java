package dev.loupe.gateway.api;

import java.time.Instant;
import java.util.List;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import dev.loupe.contracts.training.v1.BaseModel;
import dev.loupe.support.grpc.ProtoTime;

/**
 * A base model as the REST API shows it: a checkpoint registered from the platform's model store, with the hash
 * of every file as it was read at registration.
 *
 * @param type always {@code base}, as opposed to a tenant's fine-tuned model versions in the same list
 * @param contentHash SHA-256 over the files' names and hashes in name order
 * @param storageUri the {@code file:} URI of the checkpoint folder on the model store
 */
@Schema(name = "BaseModel")
public record BaseModelView(String id, String object, @Schema(enumeration = TYPE) String type, String displayName,
        String architecture, long parameterCount, String storageUri, String contentHash, List<FileView> files,
        Instant createdAt, ActorView createdBy) implements ModelView {

    /** The {@code type} of a base model. */
    public static final String TYPE = "base";

    /** One file of the checkpoint. */
    @Schema(name = "BaseModelFile")
    public record FileView(String name, String sha256, long sizeBytes) {
    }

    public static BaseModelView of(BaseModel model) {
        return new BaseModelView(model.getId(), "model", TYPE, model.getDisplayName(), model.getArchitecture(),
                model.getParameterCount(), model.getStorageUri(), model.getContentHash(),
                model.getFilesList()
                        .stream()
                        .map(file -> new FileView(file.getName(), file.getSha256(), file.getSizeBytes()))
                        .toList(),
                ProtoTime.toInstant(model.getCreatedAt()), ActorView.of(model.getCreatedBy()));
    }
}
