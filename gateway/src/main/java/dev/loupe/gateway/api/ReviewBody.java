package dev.loupe.gateway.api;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

/**
 * The optional body of a model version's review: {@code POST /v1/models/{id}/approvals}, {@code .../quarantine}
 * and {@code .../retire}.
 */
@Schema(name = "ReviewModelVersionRequest")
public record ReviewBody(
        @Schema(description = "Why, for the audit trail: up to 1000 characters; required to quarantine", examples = "Evaluated on the held-out set; no leakage found") String comment) {
}
