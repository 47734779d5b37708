package dev.loupe.audit.evidence;

import java.util.List;

import dev.loupe.audit.AuditEntry;
import dev.loupe.audit.Checkpoint;

/**
 * An evidence pack read whole into memory by {@link EvidencePackReader#read}. The constants name its zip entries,
 * in the order {@link EvidencePackWriter} writes them.
 *
 * @param entries in the order of {@code entries.jsonl}
 * @param checkpoints in the order of {@code checkpoints.jsonl}
 * @param readme the text the exporter put beside the evidence
 */
public record EvidencePack(EvidenceManifest manifest, List<AuditEntry> entries, List<Checkpoint> checkpoints,
        List<PackKey> keys, String readme) {
    /** One {@code AuditJson.entryLine} per line, sequence numbers ascending without a gap. */
    public static final String ENTRIES = "entries.jsonl";
    /** One {@code AuditJson.checkpointLine} per line: every checkpoint of the chain in the entries' range. */
    public static final String CHECKPOINTS = "checkpoints.jsonl";
    /** The public keys of the key ids the checkpoints name. */
    public static final String KEYS = "verification-keys.json";
    /** The {@link EvidenceManifest}. */
    public static final String MANIFEST = "manifest.json";
    /** A text for the reader, given by the exporter. */
    public static final String README = "README.md";
    /** Every zip entry of a pack, in the order they are written. */
    public static final List<String> ZIP_ENTRIES = List.of(ENTRIES, CHECKPOINTS, KEYS, MANIFEST, README);

    public EvidencePack {
        entries = List.copyOf(entries);
        checkpoints = List.copyOf(checkpoints);
        keys = List.copyOf(keys);
    }
}
