package dev.loupe.governance.service;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.vertx.mutiny.sqlclient.Pool;

import dev.loupe.audit.AuditEntry;
import dev.loupe.audit.Checkpoint;
import dev.loupe.audit.evidence.EvidenceManifest;
import dev.loupe.audit.evidence.EvidencePackWriter;
import dev.loupe.audit.evidence.PackKey;
import dev.loupe.governance.repository.AuditChainRepository;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.security.Caller;

/**
 * Builds evidence packs (audit-verifier's format): the tenant's entries appended in a time range, extended to
 * the next signed checkpoint (one is signed on the spot if none covers the last entry yet), the checkpoints
 * among them, the public keys and the README on the encoding. The pack is written to a temporary file on a
 * worker thread, page by page, so memory does not grow with its size, then streamed and deleted.
 */
@ApplicationScoped
public class EvidenceExportService {
    static final int CHUNK_BYTES = 64 * 1024;
    private static final int PAGE = 1000;
    private static final String README_RESOURCE = "/evidence/audit-chain.md";

    private final Pool pool;
    private final AuditChainRepository chains;
    private final AuditChainService trail;
    private final CheckpointService checkpoints;

    public EvidenceExportService(Pool pool, AuditChainRepository chains, AuditChainService trail,
            CheckpointService checkpoints) {
        this.pool = pool;
        this.chains = chains;
        this.trail = trail;
        this.checkpoints = checkpoints;
    }

    /**
     * The pack of the caller's tenant chain for entries appended in {@code [from, to)}; open ends when null. The
     * export is recorded in the chain before it is built.
     */
    public Multi<byte[]> export(Caller caller, Instant from, Instant to) {
        String chain = caller.requireTenant();
        String details = "{\"from\":" + quoted(from) + ",\"to\":" + quoted(to) + "}";
        return trail.recordAccess(caller, "audit.evidence.exported", details)
                .chain(() -> Uni.createFrom()
                        .item(() -> writePack(chain, from, to, caller.username()))
                        .runSubscriptionOn(Infrastructure.getDefaultWorkerPool()))
                .onItem()
                .transformToMulti(EvidenceExportService::streamAndDelete);
    }

    private Path writePack(String chain, Instant from, Instant to, String exportedBy) {
        Instant start = from == null ? Instant.EPOCH : from;
        Instant end = to == null ? Instant.now().plus(1, ChronoUnit.DAYS) : to;
        long[] range = chains.seqRangeAppended(pool, chain, start, end).await().indefinitely();
        if (range == null) {
            throw new ProblemException(ProblemType.NOT_FOUND, "no audit entries were appended in that time range");
        }
        long lastSeq = anchoringCheckpointSeq(chain, range[1]);
        List<Checkpoint> stored = checkpoints.stored(chain).await().indefinitely();
        List<Checkpoint> inPack = stored.stream()
                .filter(checkpoint -> checkpoint.seq() >= range[0] && checkpoint.seq() <= lastSeq)
                .toList();
        List<PackKey> keys = new ArrayList<>();
        for (Map.Entry<String, byte[]> key : checkpoints.publicKeys().entrySet()) {
            keys.add(new PackKey(key.getKey(), key.getValue()));
        }
        Path file = null;
        try {
            file = Files.createTempFile("loupe-evidence-", ".zip");
            try (OutputStream out = Files.newOutputStream(file);
                    EvidencePackWriter pack = new EvidencePackWriter(out)) {
                for (long seq = range[0]; seq <= lastSeq; seq += PAGE) {
                    for (AuditEntry entry : chains.read(pool, chain, seq, Math.min(lastSeq, seq + PAGE - 1), PAGE)
                            .await()
                            .indefinitely()) {
                        pack.entry(entry);
                    }
                }
                pack.finish(EvidenceManifest.of(chain, from, to, Instant.now(), exportedBy), inPack, keys, readme());
            }
            return file;
        } catch (IOException e) {
            deleteQuietly(file);
            throw new UncheckedIOException("Could not write the evidence pack", e);
        } catch (RuntimeException e) {
            deleteQuietly(file);
            throw e;
        }
    }

    /** The sequence number of the first valid checkpoint at or after {@code lastSeq}, signing one if needed. */
    private long anchoringCheckpointSeq(String chain, long lastSeq) {
        CheckpointService.CheckedCheckpoints checked = checkpoints.checked(chain).await().indefinitely();
        return checked.validHeadHashes()
                .keySet()
                .stream()
                .filter(seq -> seq >= lastSeq)
                .min(Long::compare)
                .orElseGet(() -> checkpoints.checkpointHead(chain)
                        .map(Checkpoint::seq)
                        .orElseThrow(() -> new IllegalStateException("no checkpoint covers entry " + lastSeq)));
    }

    private static String readme() {
        try (InputStream in = EvidenceExportService.class.getResourceAsStream(README_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(README_RESOURCE + " is missing from the build");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The file in chunks, read as the consumer asks for them; deleted when the stream ends either way. */
    private static Multi<byte[]> streamAndDelete(Path file) {
        return Multi.createFrom().resource(() -> open(file),
                in -> Multi.createFrom().iterable(() -> new Iterator<byte[]>() {
                    private byte[] next = read(in);

                    @Override
                    public boolean hasNext() {
                        return next.length > 0;
                    }

                    @Override
                    public byte[] next() {
                        if (next.length == 0) {
                            throw new NoSuchElementException();
                        }
                        byte[] chunk = next;
                        next = read(in);
                        return chunk;
                    }
                })).withFinalizer(in -> {
                    try {
                        in.close();
                    } catch (IOException e) {
                        // Closing a file opened for reading: nothing was lost.
                    }
                    deleteQuietly(file);
                }).runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
    }

    private static InputStream open(Path file) {
        try {
            return Files.newInputStream(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] read(InputStream in) {
        try {
            return in.readNBytes(CHUNK_BYTES);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteQuietly(Path file) {
        if (file == null) {
            return;
        }
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // A temporary file the OS cleans up eventually; nothing to tell the caller.
        }
    }

    private static String quoted(Instant instant) {
        return instant == null ? "null" : "\"" + instant + "\"";
    }
}
