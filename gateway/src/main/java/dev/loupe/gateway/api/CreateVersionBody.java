package dev.loupe.gateway.api;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

/** The body of {@code POST /v1/datasets/{id}/versions}. The dataset-service validates it. */
@Schema(name = "CreateDatasetVersionRequest")
public record CreateVersionBody(
        @Schema(description = "Share of the records in the validation split, 0 to 0.5 (default 0)", examples = "0.1") Double validationFraction,
        @Schema(description = "Seed of the split: the same records and seed give the same split (default 0)") Long splitSeed,
        @Schema(description = "At most 1000 characters") String description) {
}
