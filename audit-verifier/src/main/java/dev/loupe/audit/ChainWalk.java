package dev.loupe.audit;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Verifies a run of one chain, entry by entry in sequence order: each hash recomputed, each link followed, no
 * gap, and each entry a checkpoint names carrying the hash the checkpoint signed. The governance-service and the
 * standalone verifier both walk with this class, so they find the same problem at the same entry.
 */
public final class ChainWalk {
    private final Map<Long, String> checkpointHashes;
    private final Set<String> seenHashes = new HashSet<>();
    private long expectedSeq;
    private String expectedPrevHash;
    private long lastVouchedSeq;
    private long checked;

    /**
     * @param fromSeq the first entry to check
     * @param prevHash the hash entry {@code fromSeq} must link to ({@link ChainHash#GENESIS} for entry 1)
     * @param checkpointHashes head hashes of checkpoints whose signatures verified, by sequence number
     */
    public ChainWalk(long fromSeq, String prevHash, Map<Long, String> checkpointHashes) {
        this.expectedSeq = fromSeq;
        this.expectedPrevHash = prevHash;
        this.checkpointHashes = checkpointHashes;
        this.lastVouchedSeq = fromSeq - 1;
    }

    /** The sequence number the next entry must have. */
    public long expectedSeq() {
        return expectedSeq;
    }

    public long checked() {
        return checked;
    }

    /** Checks the next entry read; null when it is the entry the chain needs. */
    public Verification check(AuditEntry entry) {
        if (entry.seq() > expectedSeq) {
            return Verification.invalid(checked, expectedSeq, Verification.MISSING_ENTRY);
        }
        if (!ChainHash.matches(entry)) {
            return Verification.invalid(checked, entry.seq(), Verification.MODIFIED_ENTRY);
        }
        if (!entry.prevHash().equals(expectedPrevHash)) {
            // A well-formed entry linked to an earlier one was moved; one linked to nothing we saw was forged.
            String reason = seenHashes.contains(entry.prevHash())
                    ? Verification.REORDERED_ENTRIES
                    : Verification.INSERTED_ENTRY;
            return Verification.invalid(checked, entry.seq(), reason);
        }
        String signed = checkpointHashes.get(entry.seq());
        if (signed != null) {
            if (!signed.equals(entry.hash())) {
                // Every hash matches its fields, yet not the signed one: the run since the last checkpoint
                // that matched was rewritten consistently. Which entry changed first cannot be known, so the
                // first one no signature vouches for any more is reported.
                return Verification.invalid(checked - (entry.seq() - 1 - lastVouchedSeq), lastVouchedSeq + 1,
                        Verification.MODIFIED_ENTRY);
            }
            lastVouchedSeq = entry.seq();
        }
        seenHashes.add(entry.hash());
        expectedPrevHash = entry.hash();
        expectedSeq++;
        checked++;
        return null;
    }

    /**
     * Checks that the walk reached {@code lastSeq}: the head of the chain, or the newest checkpoint if that is
     * further. Null when it did.
     */
    public Verification finish(long lastSeq) {
        return expectedSeq <= lastSeq
                ? Verification.invalid(checked, expectedSeq, Verification.TRUNCATED_TAIL)
                : null;
    }
}
