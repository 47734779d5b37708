package dev.loupe.audit;

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

    public static Verification valid(long checked) {
        return new Verification(true, checked, 0, "");
    }

    public static Verification invalid(long checked, long seq, String reason) {
        return new Verification(false, checked, seq, reason);
    }
}
