package dev.loupe.audit;

import java.util.SortedSet;

/**
 * The outcome of verifying a run of a chain.
 *
 * @param checked entries found intact before the first problem
 * @param firstInvalidSeq the first entry that cannot be trusted; 0 when valid
 * @param reason empty when valid; else one of the {@code REASON_} names
 */
public record Verification(boolean valid, long checked, long firstInvalidSeq, String reason) {
    /** An entry's fields no longer match its hash, or a run was rewritten after a checkpoint vouched for it. */
    public static final String MODIFIED_ENTRY = "modified_entry";
    /** A sequence number is absent. */
    public static final String MISSING_ENTRY = "missing_entry";
    /** An entry links to nothing the chain holds, or sits beyond the head. */
    public static final String INSERTED_ENTRY = "inserted_entry";
    /** Intact entries are linked in another order than they were appended. */
    public static final String REORDERED_ENTRIES = "reordered_entries";
    /** Entries a checkpoint or the head vouched for are gone from the end. */
    public static final String TRUNCATED_TAIL = "truncated_tail";
    /** A checkpoint's signature does not verify with the published key of its key id. */
    public static final String CHECKPOINT_SIGNATURE_INVALID = "checkpoint_signature_invalid";
    /**
     * The last entry of a run that must be vouched for (an evidence pack's {@code last_seq}) has no checkpoint
     * with a valid signature: the entries after the newest valid checkpoint could have been rewritten, however
     * consistently, and nothing would show it.
     */
    public static final String MISSING_CHECKPOINT = "missing_checkpoint";

    public static Verification valid(long checked) {
        return new Verification(true, checked, 0, "");
    }

    public static Verification invalid(long checked, long seq, String reason) {
        return new Verification(false, checked, seq, reason);
    }

    /**
     * Adds the checkpoints whose signatures did not verify to the outcome of a walk from {@code fromSeq}: a bad
     * signature is a finding too, unless the chain failed at a smaller sequence number. At a tie the signature is
     * reported, being the more specific finding.
     *
     * @param result the walk's outcome
     * @param invalidSignatureSeqs sequence numbers of checkpoints in the walked range whose signatures failed
     */
    public static Verification withCheckpointSignatures(Verification result, SortedSet<Long> invalidSignatureSeqs,
            long fromSeq) {
        if (invalidSignatureSeqs.isEmpty()) {
            return result;
        }
        long seq = invalidSignatureSeqs.first();
        if (!result.valid() && result.firstInvalidSeq() < seq) {
            return result;
        }
        return invalid(Math.min(result.checked(), seq - fromSeq), seq, CHECKPOINT_SIGNATURE_INVALID);
    }
}
