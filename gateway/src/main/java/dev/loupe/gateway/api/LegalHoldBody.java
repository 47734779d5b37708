package dev.loupe.gateway.api;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

/** The body of {@code PUT /v1/datasets/{id}/legal-hold}. */
@Schema(name = "PlaceLegalHoldRequest")
public record LegalHoldBody(
        @Schema(description = "Why, for whoever will release it: 1 to 1000 characters", examples = "Litigation 2026-114", required = true) String reason) {
}
