package dev.loupe.gateway.api;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import dev.loupe.contracts.governance.v1.VerifyChainResponse;

/**
 * The result of recomputing the tenant's chain and checking it against the signed checkpoints.
 *
 * @param firstInvalidSeq the first entry that cannot be trusted; null when valid
 * @param reason null when valid; else {@code modified_entry}, {@code missing_entry}, {@code inserted_entry},
 *        {@code reordered_entries}, {@code truncated_tail} or {@code checkpoint_signature_invalid}
 */
@Schema(name = "AuditVerification")
public record VerificationView(boolean valid, long checked, Long firstInvalidSeq, String reason) {

    public static VerificationView of(VerifyChainResponse response) {
        return response.getValid()
                ? new VerificationView(true, response.getChecked(), null, null)
                : new VerificationView(false, response.getChecked(), response.getFirstInvalidSeq(),
                        response.getReason());
    }
}
