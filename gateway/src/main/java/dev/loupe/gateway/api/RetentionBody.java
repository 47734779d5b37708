package dev.loupe.gateway.api;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

/** The body of {@code PUT /v1/datasets/{id}/retention}. */
@Schema(name = "RetentionPolicy")
public record RetentionBody(
        @Schema(description = "Days after the dataset's creation when the retention job deletes and crypto-shreds it"
                + " (unless under legal hold then): 1 to 36500, or 0 to keep it until deleted", examples = "365", required = true) Integer maxAgeDays) {
}
