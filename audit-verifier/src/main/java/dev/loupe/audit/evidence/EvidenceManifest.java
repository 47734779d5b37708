package dev.loupe.audit.evidence;

import java.time.Instant;

/**
 * What an evidence pack holds and why: {@code manifest.json}. Only the entries and the signed checkpoints are
 * evidence; the manifest is not signed, so a verifier checks it against them rather than trusting it.
 *
 * @param format {@link #FORMAT}
 * @param chain the one chain the pack's entries belong to
 * @param from start of the time range the officer asked for; null when open
 * @param to end of the time range the officer asked for; null when open. Entries appended after it, up to the
 *        next checkpoint, are in the pack too, so that a signature vouches for the last entry
 * @param firstSeq sequence number of the first entry
 * @param lastSeq sequence number of the last entry
 * @param entries how many entries the pack holds
 * @param exportedBy user name of whoever exported the pack
 */
public record EvidenceManifest(String format, String chain, Instant from, Instant to, long firstSeq, long lastSeq,
        long entries, Instant exportedAt, String exportedBy) {
    /** The only format this code writes and reads. */
    public static final String FORMAT = "loupe.audit.evidence.v1";

    /**
     * The manifest of an export before its entries are written: {@link EvidencePackWriter} fills in the sequence
     * range and the count from the entries it wrote.
     */
    public static EvidenceManifest of(String chain, Instant from, Instant to, Instant exportedAt,
            String exportedBy) {
        return new EvidenceManifest(FORMAT, chain, from, to, 0, 0, 0, exportedAt, exportedBy);
    }

    /** This manifest with another sequence range and entry count. */
    public EvidenceManifest withRun(long firstSeq, long lastSeq, long entries) {
        return new EvidenceManifest(format, chain, from, to, firstSeq, lastSeq, entries, exportedAt, exportedBy);
    }
}
