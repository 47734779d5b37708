package dev.loupe.gateway.api;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

/** The body of {@code POST /v1/datasets}. The dataset-service validates it and names the field at fault. */
@Schema(name = "CreateDatasetRequest")
public record CreateDatasetBody(
        @Schema(description = "1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit; unique in the tenant", required = true, examples = "chest-xrays") String name,
        @Schema(description = "At most 2000 characters") String description) {
}
