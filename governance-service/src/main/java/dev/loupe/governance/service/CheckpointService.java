package dev.loupe.governance.service;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.SqlClient;
import org.jboss.logging.Logger;

import dev.loupe.audit.Checkpoint;
import dev.loupe.governance.config.GovernanceConfig;
import dev.loupe.governance.repository.AuditChainRepository;
import dev.loupe.governance.repository.AuditChainRepository.Head;
import dev.loupe.governance.repository.CheckpointFiles;
import dev.loupe.governance.repository.CheckpointRepository;
import dev.loupe.support.kms.KeySignature;
import dev.loupe.support.kms.SigningKeys;
import dev.loupe.support.kms.VerificationKey;

/**
 * Signs checkpoints of chain heads with the KMS key and keeps them in two places: the database and the
 * checkpoint files. A chain is checkpointed once {@code every-events} entries were appended since its last
 * checkpoint, and at least every {@code interval} while entries are uncovered. One thread signs, so two
 * checkpoints of a chain are never made at once.
 */
@ApplicationScoped
public class CheckpointService {
    private static final Logger LOG = Logger.getLogger(CheckpointService.class);

    /** A chain's checkpoints, their signatures checked against the KMS's published keys. */
    public record CheckedCheckpoints(Map<Long, String> validHeadHashes, TreeSet<Long> invalidSeqs,
            long newestValidSeq) {
    }

    private final Pool pool;
    private final AuditChainRepository chains;
    private final CheckpointRepository checkpoints;
    private final CheckpointFiles files;
    private final SigningKeys keys;
    private final GovernanceConfig.Checkpoints config;
    private final ExecutorService signer = Executors
            .newSingleThreadExecutor(task -> new Thread(task, "audit-checkpoint-signer"));

    public CheckpointService(Pool pool, AuditChainRepository chains, CheckpointRepository checkpoints,
            CheckpointFiles files, SigningKeys keys, GovernanceConfig config) {
        this.pool = pool;
        this.chains = chains;
        this.checkpoints = checkpoints;
        this.files = files;
        this.keys = keys;
        this.config = config.checkpoints();
    }

    /** Called after entries {@code fromSeq..toSeq} were appended to a chain. */
    void appended(String chain, long fromSeq, long toSeq) {
        int every = config.everyEvents();
        if ((fromSeq - 1) / every != toSeq / every) {
            signer.execute(() -> checkpointLogged(chain));
        }
    }

    @Scheduled(every = "${loupe.governance.checkpoints.interval}", delayed = "${loupe.governance.checkpoints.interval}", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void checkpointChainsAhead() {
        for (String chain : checkpoints.chainsAhead(pool).await().indefinitely()) {
            awaitSigner(() -> checkpointLogged(chain));
        }
    }

    /**
     * Signs a checkpoint of the chain's current head unless a checkpoint already covers it. Blocks until it is
     * in the file and the database.
     */
    public Optional<Checkpoint> checkpointHead(String chain) {
        Future<Optional<Checkpoint>> done = signer.submit(() -> sign(chain));
        try {
            return done.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while signing a checkpoint", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException runtime
                    ? runtime
                    : new IllegalStateException("Checkpoint failed", e.getCause());
        }
    }

    private void checkpointLogged(String chain) {
        try {
            sign(chain);
        } catch (RuntimeException e) {
            // The next trigger or the periodic pass tries again; meanwhile the chain is only hash-protected.
            LOG.errorf(e, "Could not checkpoint audit chain %s", chain);
        }
    }

    private void awaitSigner(Runnable task) {
        try {
            signer.submit(task).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            LOG.error("Checkpoint pass failed", e.getCause());
        }
    }

    private Optional<Checkpoint> sign(String chain) {
        Head head = chains.head(pool, chain).await().indefinitely();
        long covered = checkpoints.lastSeq(pool, chain).await().indefinitely();
        if (head.seq() == 0 || head.seq() <= covered) {
            return Optional.empty();
        }
        Instant signedAt = Instant.now().truncatedTo(ChronoUnit.MICROS);
        KeySignature signature = keys.sign(config.keyName(),
                Checkpoint.signedBytes(chain, head.seq(), head.hash(), signedAt));
        Checkpoint checkpoint = new Checkpoint(chain, head.seq(), head.hash(), signedAt, signature.keyId(),
                signature.signature());
        // The file first: it is the copy an attacker in the database cannot reach.
        files.append(checkpoint);
        checkpoints.insert(pool, checkpoint).await().indefinitely();
        return Optional.of(checkpoint);
    }

    /**
     * A chain's checkpoints from the database and the files together (an attacker may have deleted either
     * copy), each signature checked.
     */
    public Uni<CheckedCheckpoints> checked(String chain) {
        return checked(pool, chain, Instant.MAX);
    }

    /**
     * As {@link #checked(String)}, reading the table through {@code client} and keeping only checkpoints signed
     * before {@code signedBefore}: a verification that reads the chain in one snapshot must not meet a checkpoint
     * of entries its snapshot cannot see.
     */
    public Uni<CheckedCheckpoints> checked(SqlClient client, String chain, Instant signedBefore) {
        return checkpoints.list(client, chain)
                .chain(stored -> Uni.createFrom().item(() -> {
                    List<Checkpoint> all = new ArrayList<>(stored);
                    all.addAll(files.read(chain));
                    all.removeIf(checkpoint -> !checkpoint.signedAt().isBefore(signedBefore));
                    return check(all);
                }).runSubscriptionOn(Infrastructure.getDefaultWorkerPool()));
    }

    /**
     * A chain's checkpoints from the database and the files, each once, in sequence order; signatures are not
     * checked here (an evidence pack carries what is stored, for the verifier to judge).
     */
    public Uni<List<Checkpoint>> stored(String chain) {
        return checkpoints.list(pool, chain)
                .chain(inDatabase -> Uni.createFrom().item(() -> {
                    Map<String, Checkpoint> unique = new java.util.TreeMap<>();
                    List<Checkpoint> all = new ArrayList<>(inDatabase);
                    all.addAll(files.read(chain));
                    for (Checkpoint checkpoint : all) {
                        String key = String.format("%020d/%s/%s", checkpoint.seq(), checkpoint.headHash(),
                                java.util.Base64.getEncoder().encodeToString(checkpoint.signature()));
                        unique.putIfAbsent(key, checkpoint);
                    }
                    return List.copyOf(unique.values());
                }).runSubscriptionOn(Infrastructure.getDefaultWorkerPool()));
    }

    /** The published public keys of the checkpoint key, by key id. */
    public Map<String, byte[]> publicKeys() {
        Map<String, byte[]> published = new HashMap<>();
        for (VerificationKey key : keys.verificationKeys(config.keyName())) {
            published.put(key.keyId(), key.publicKey());
        }
        return published;
    }

    private CheckedCheckpoints check(List<Checkpoint> all) {
        Map<String, byte[]> published = publicKeys();
        Map<Long, String> valid = new HashMap<>();
        TreeSet<Long> invalid = new TreeSet<>();
        long newest = 0;
        for (Checkpoint checkpoint : all) {
            if (checkpoint.signatureValid(published)) {
                valid.put(checkpoint.seq(), checkpoint.headHash());
                newest = Math.max(newest, checkpoint.seq());
            } else {
                invalid.add(checkpoint.seq());
            }
        }
        return new CheckedCheckpoints(valid, invalid, newest);
    }

    @PreDestroy
    void stop() {
        signer.shutdown();
    }
}
