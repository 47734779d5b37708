package dev.loupe.gateway.api;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

/** The body of {@code POST /v1/models}. The training-service checks it and names the field at fault. */
@Schema(name = "RegisterModelRequest")
public record RegisterModelBody(
        @Schema(description = "1 to 100 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit; the `model` of fine-tuning jobs", required = true, examples = "llava-1.5-7b") String id,
        @Schema(description = "Name shown to people; the id when absent") String displayName,
        @Schema(description = "The checkpoint's family; read from its config.json when absent. Only `llava` for now") String architecture,
        @Schema(description = "The checkpoint folder on the model store: a path relative to the training-service's models root, an absolute path inside it, or a file: URI. It must hold config.json, model.safetensors (or its index and shards) and tokenizer.json; nothing is downloaded", required = true, examples = "llava-1.5-7b") String storageUri) {
}
