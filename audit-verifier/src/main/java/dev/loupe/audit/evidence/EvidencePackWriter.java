package dev.loupe.audit.evidence;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import dev.loupe.audit.AuditEntry;
import dev.loupe.audit.AuditJson;
import dev.loupe.audit.Checkpoint;

import static java.nio.charset.StandardCharsets.UTF_8;

/**
 * Streams an evidence pack to an output stream: {@link #entry} once per entry in sequence order, then
 * {@link #finish} once, then {@link #close}. Each entry goes out as it comes, so memory does not grow with the
 * size of the export. The writer refuses what would make a malformed pack (a gap, a second chain, a checkpoint
 * outside the entries' range); it does not judge the evidence, which is the verifier's job.
 *
 * <pre>{@code
 * try (EvidencePackWriter pack = new EvidencePackWriter(out)) {
 *     entries.forEach(pack::entry);
 *     pack.finish(EvidenceManifest.of(chain, from, to, now, username), checkpoints, keys, readme);
 * }
 * }</pre>
 */
public final class EvidencePackWriter implements AutoCloseable {
    private final ZipOutputStream zip;
    /** Over {@link #zip}, flushed but never closed: closing it would close the zip. */
    private final Writer text;
    private String chain;
    private long firstSeq;
    private long lastSeq;
    private long count;
    private boolean finished;

    /** Starts a pack on {@code out}, which {@link #close} closes. */
    public EvidencePackWriter(OutputStream out) throws IOException {
        this.zip = new ZipOutputStream(out, UTF_8);
        this.text = new BufferedWriter(new OutputStreamWriter(zip, UTF_8));
        zip.putNextEntry(new ZipEntry(EvidencePack.ENTRIES));
    }

    /**
     * Writes the next entry.
     *
     * @throws IllegalArgumentException when the entry is of another chain than the first, or its seq does not
     *         follow the previous entry's
     * @throws IllegalStateException after {@link #finish}
     */
    public void entry(AuditEntry entry) throws IOException {
        if (finished) {
            throw new IllegalStateException("The pack is finished");
        }
        if (count == 0) {
            chain = entry.chain();
            firstSeq = entry.seq();
        } else if (!chain.equals(entry.chain())) {
            throw new IllegalArgumentException("Entry " + entry.seq() + " is of chain " + entry.chain()
                    + ", the pack of chain " + chain);
        } else if (entry.seq() != lastSeq + 1) {
            throw new IllegalArgumentException("Entry " + entry.seq() + " does not follow entry " + lastSeq);
        }
        text.write(AuditJson.entryLine(entry));
        text.write('\n');
        lastSeq = entry.seq();
        count++;
    }

    /**
     * Writes the rest of the pack after the last entry. The manifest's sequence range and entry count are the
     * writer's, from the entries it wrote; those of {@code manifest} must be zero or the same.
     *
     * @param checkpoints every checkpoint of the chain between the first and the last entry, including one at
     *        the last entry, so that a signature vouches for every entry of the pack
     * @param keys the public keys of the key ids the checkpoints name
     * @param readme the text that explains the pack to its reader, e.g. docs/audit-chain.md
     * @return the manifest as written
     * @throws IllegalStateException when no entry was written, or finish was called before
     * @throws IllegalArgumentException when the manifest, a checkpoint or a key does not fit the entries
     */
    public EvidenceManifest finish(EvidenceManifest manifest, List<Checkpoint> checkpoints, List<PackKey> keys,
            String readme) throws IOException {
        if (finished) {
            throw new IllegalStateException("The pack is finished");
        }
        if (count == 0) {
            throw new IllegalStateException("A pack holds at least one entry");
        }
        check(manifest, checkpoints, keys);
        EvidenceManifest written = manifest.withRun(firstSeq, lastSeq, count);
        finished = true;

        text.flush();
        zip.closeEntry();
        zip.putNextEntry(new ZipEntry(EvidencePack.CHECKPOINTS));
        for (Checkpoint checkpoint : checkpoints) {
            text.write(AuditJson.checkpointLine(checkpoint));
            text.write('\n');
        }
        text.flush();
        zip.closeEntry();
        write(EvidencePack.KEYS, PackJson.keys(keys) + "\n");
        write(EvidencePack.MANIFEST, PackJson.manifest(written) + "\n");
        write(EvidencePack.README, readme);
        zip.finish();
        return written;
    }

    /**
     * Closes the output stream. A pack closed before {@link #finish} lacks its manifest, and readers reject it.
     */
    @Override
    public void close() throws IOException {
        zip.close();
    }

    private void check(EvidenceManifest manifest, List<Checkpoint> checkpoints, List<PackKey> keys) {
        if (!EvidenceManifest.FORMAT.equals(manifest.format())) {
            throw new IllegalArgumentException("This writer writes " + EvidenceManifest.FORMAT + " only");
        }
        if (!chain.equals(manifest.chain())) {
            throw new IllegalArgumentException("The manifest names chain " + manifest.chain() + ", the entries "
                    + chain);
        }
        boolean unset = manifest.firstSeq() == 0 && manifest.lastSeq() == 0 && manifest.entries() == 0;
        boolean same = manifest.firstSeq() == firstSeq && manifest.lastSeq() == lastSeq
                && manifest.entries() == count;
        if (!unset && !same) {
            throw new IllegalArgumentException("The manifest says entries " + manifest.firstSeq() + ".."
                    + manifest.lastSeq() + " (" + manifest.entries() + "), the pack holds " + firstSeq + ".."
                    + lastSeq + " (" + count + ")");
        }
        for (Checkpoint checkpoint : checkpoints) {
            if (!chain.equals(checkpoint.chain()) || checkpoint.seq() < firstSeq || checkpoint.seq() > lastSeq) {
                throw new IllegalArgumentException("Checkpoint " + checkpoint.chain() + "/" + checkpoint.seq()
                        + " is outside the pack's entries " + chain + "/" + firstSeq + ".." + lastSeq);
            }
        }
        Set<String> keyIds = new HashSet<>();
        for (PackKey key : keys) {
            if (!keyIds.add(key.keyId())) {
                throw new IllegalArgumentException("Key " + key.keyId() + " is listed twice");
            }
        }
    }

    private void write(String name, String content) throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        text.write(content);
        text.flush();
        zip.closeEntry();
    }
}
