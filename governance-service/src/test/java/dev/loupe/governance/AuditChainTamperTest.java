package dev.loupe.governance;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.UnaryOperator;

import jakarta.inject.Inject;

import io.quarkus.test.junit.QuarkusTest;
import io.vertx.mutiny.sqlclient.Pool;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

import dev.loupe.audit.AuditEntry;
import dev.loupe.audit.AuditEvent;
import dev.loupe.audit.ChainHash;
import dev.loupe.audit.Checkpoint;
import dev.loupe.audit.Verification;
import dev.loupe.governance.repository.AuditChainRepository;
import dev.loupe.governance.service.AuditChainService;
import dev.loupe.governance.service.CheckpointService;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tampering with the stored chain is detected at the right entry. The tampering runs over a privileged JDBC
 * connection (the tables' owner, triggers disabled), as an attacker with database access would.
 */
@QuarkusTest
class AuditChainTamperTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @Inject
    AuditChainService chains;
    @Inject
    CheckpointService checkpoints;
    @Inject
    AuditChainRepository repository;
    @Inject
    Pool pool;
    @ConfigProperty(name = "loupe.governance.checkpoints.dir")
    Path checkpointDir;

    @ConfigProperty(name = "quarkus.datasource.jdbc.url")
    String url;
    /** The tables' owner, which runs the migrations: the privileged connection an attacker would want. */
    @ConfigProperty(name = "quarkus.flyway.username")
    String ownerUser;
    @ConfigProperty(name = "quarkus.flyway.password")
    String ownerPassword;
    /** The role the service itself runs as. */
    @ConfigProperty(name = "quarkus.datasource.username")
    String appUser;
    @ConfigProperty(name = "quarkus.datasource.password")
    String appPassword;

    /** A new chain of {@code count} entries, appended in batches of 500. */
    private String chainOf(int count) {
        String tenant = AuditEventsFixture.freshTenant();
        List<AuditEvent> events = AuditEventsFixture.storedEvents(tenant, count);
        for (int from = 0; from < count; from += 500) {
            chains.append(events.subList(from, Math.min(count, from + 500))).await().atMost(WAIT);
        }
        return tenant;
    }

    private Verification verify(String chain) {
        return chains.verify(chain, 0, 0).await().atMost(WAIT);
    }

    private void tamper(String... statements) throws SQLException {
        try (Connection connection = DriverManager.getConnection(url, ownerUser, ownerPassword);
                Statement statement = connection.createStatement()) {
            statement.execute("ALTER TABLE audit_entry DISABLE TRIGGER USER");
            statement.execute("ALTER TABLE audit_checkpoint DISABLE TRIGGER USER");
            try {
                for (String sql : statements) {
                    statement.execute(sql);
                }
            } finally {
                statement.execute("ALTER TABLE audit_entry ENABLE TRIGGER USER");
                statement.execute("ALTER TABLE audit_checkpoint ENABLE TRIGGER USER");
            }
        }
    }

    /** Appends {@code count} more entries to a chain. */
    private void extend(String chain, int count) {
        chains.append(AuditEventsFixture.storedEvents(chain, count)).await().atMost(WAIT);
    }

    /**
     * Statements that set {@code column} to {@code value} in entries {@code fromSeq..toSeq} and recompute every
     * hash and link from there, head included: a rewrite only a checkpoint can reveal.
     *
     * @param prevHash the hash of entry {@code fromSeq - 1}
     * @param change the same edit on the event, to compute the hashes
     */
    private String[] consistentRewrite(String chain, long fromSeq, long toSeq, String prevHash, String column,
            String value, UnaryOperator<AuditEvent> change) {
        List<String> statements = new ArrayList<>();
        String hash = prevHash;
        for (AuditEntry entry : repository.read(pool, chain, fromSeq, toSeq, 1000).await().atMost(WAIT)) {
            String linked = hash;
            hash = ChainHash.of(chain, entry.seq(), change.apply(entry.event()), entry.appendedAt(), linked);
            statements.add("UPDATE audit_entry SET " + column + " = '" + value + "', prev_hash = '" + linked
                    + "', hash = '" + hash + "' WHERE chain = '" + chain + "' AND seq = " + entry.seq());
        }
        statements.add("UPDATE audit_chain_head SET hash = '" + hash + "' WHERE chain = '" + chain + "'");
        return statements.toArray(String[]::new);
    }

    private Checkpoint checkpoint(String chain) {
        return checkpoints.checkpointHead(chain).orElseThrow();
    }

    private void assertDetected(String chain, long seq, String reason) {
        Verification verification = verify(chain);
        assertFalse(verification.valid(), verification.toString());
        assertEquals(seq, verification.firstInvalidSeq(), verification.toString());
        assertEquals(reason, verification.reason(), verification.toString());
    }

    @Test
    void cleanChainOfTenThousandEntriesVerifies() {
        String chain = chainOf(10_000);
        Verification verification = verify(chain);
        assertTrue(verification.valid(), verification.toString());
        assertEquals(10_000, verification.checked());
        // A window of the chain verifies on its own.
        Verification window = chains.verify(chain, 5_000, 5_100).await().atMost(WAIT);
        assertTrue(window.valid());
        assertEquals(101, window.checked());
    }

    @Test
    void flippedByteIsAModifiedEntry() throws SQLException {
        String chain = chainOf(20);
        tamper("UPDATE audit_entry SET resource_id = 'ds-X' || substr(resource_id, 5) WHERE chain = '" + chain
                + "' AND seq = 7");
        assertDetected(chain, 7, "modified_entry");
    }

    @Test
    void deletedEntryIsMissing() throws SQLException {
        String chain = chainOf(20);
        tamper("DELETE FROM audit_entry WHERE chain = '" + chain + "' AND seq = 12");
        assertDetected(chain, 12, "missing_entry");
    }

    @Test
    void swappedEntriesAreDetectedAtTheFirst() throws SQLException {
        String chain = chainOf(20);
        String where = "WHERE chain = '" + chain + "' AND seq = ";
        tamper("UPDATE audit_entry SET seq = -1 " + where + "5", "UPDATE audit_entry SET seq = 5 " + where + "6",
                "UPDATE audit_entry SET seq = 6 " + where + "-1");
        assertDetected(chain, 5, "modified_entry");
    }

    @Test
    void forgedEntryAfterTheHeadIsAnInsertedEntry() throws SQLException {
        String chain = chainOf(20);
        tamper("INSERT INTO audit_entry SELECT chain, 21, gen_random_uuid(), occurred_at, tenant, actor_user_id,"
                + " actor_username_hash, actor_service, on_behalf_user_id, on_behalf_username_hash, action, resource_type,"
                + " resource_id, outcome, request_id, details, source, appended_at, hash, hash FROM audit_entry"
                + " WHERE chain = '" + chain + "' AND seq = 20");
        assertDetected(chain, 21, "inserted_entry");
    }

    @Test
    void truncatedTailIsDetected() throws SQLException {
        String chain = chainOf(20);
        tamper("DELETE FROM audit_entry WHERE chain = '" + chain + "' AND seq > 17");
        assertDetected(chain, 18, "truncated_tail");
    }

    @Test
    void truncatedTailAfterACheckpointIsDetectedEvenWithTheHeadMovedBack() throws SQLException {
        String chain = chainOf(20);
        checkpoint(chain);
        extend(chain, 5);
        // The attacker deletes the newest entries and rewinds the head, so the chain alone looks whole.
        tamper("DELETE FROM audit_entry WHERE chain = '" + chain + "' AND seq > 14",
                "UPDATE audit_chain_head SET seq = 14, hash = (SELECT hash FROM audit_entry WHERE chain = '" + chain
                        + "' AND seq = 14) WHERE chain = '" + chain + "'");
        assertDetected(chain, 15, "truncated_tail");
    }

    @Test
    void chainRewrittenConsistentlyWithoutTheKeyIsDetected() throws SQLException {
        String chain = chainOf(10);
        checkpoint(chain);
        extend(chain, 10);
        checkpoint(chain);
        // Rewrite entries 14..20 with every hash recomputed, as someone with database access but no signing key
        // can: each entry matches its fields and links to the one before, only the checkpoint at 20 disagrees.
        AuditEntry kept = repository.read(pool, chain, 13, 13, 1).await().atMost(WAIT).get(0);
        tamper(consistentRewrite(chain, 14, 20, kept.hash(), "actor_user_id", "someone-else",
                event -> new AuditEvent(event.eventId(), event.occurredAt(), event.tenant(), "someone-else",
                        event.actorUsernameHash(), event.actorService(), event.onBehalfUserId(),
                        event.onBehalfUsernameHash(), event.action(), event.resourceType(), event.resourceId(),
                        event.outcome(), event.requestId(), event.details(), event.source())));
        // The run since the last checkpoint that still matches (10) is what can no longer be trusted.
        assertDetected(chain, 11, "modified_entry");
    }

    @Test
    void wholeChainRewrittenWithCheckpointsDeletedFromTheDatabaseIsDetectedByTheFiles() throws SQLException {
        String chain = chainOf(10);
        checkpoint(chain);
        List<String> statements = new ArrayList<>(List.of("DELETE FROM audit_checkpoint WHERE chain = '" + chain
                + "'"));
        statements.addAll(List.of(consistentRewrite(chain, 1, 10, ChainHash.GENESIS, "action", "dataset.nothing",
                event -> new AuditEvent(event.eventId(), event.occurredAt(), event.tenant(), event.actorUserId(),
                        event.actorUsernameHash(), event.actorService(), event.onBehalfUserId(),
                        event.onBehalfUsernameHash(), "dataset.nothing", event.resourceType(), event.resourceId(),
                        event.outcome(), event.requestId(), event.details(), event.source()))));
        tamper(statements.toArray(String[]::new));
        assertDetected(chain, 1, "modified_entry");
    }

    @Test
    void forgedCheckpointIsAnInvalidSignature() throws Exception {
        String chain = chainOf(12);
        Checkpoint real = checkpoint(chain);
        // A checkpoint for a rewritten head, with a signature copied from the real one.
        Path file = checkpointDir.resolve(chain + ".checkpoints.jsonl");
        String line = Files.readString(file).trim();
        Files.writeString(file, line.replace(real.headHash(), "f".repeat(64)) + "\n");
        assertDetected(chain, 12, "checkpoint_signature_invalid");
    }

    @Test
    void aCheckpointLineTornByACrashIsNotTampering() throws Exception {
        String chain = chainOf(5);
        checkpoint(chain);
        Path file = checkpointDir.resolve(chain + ".checkpoints.jsonl");
        // A crash in the middle of writing the next checkpoint.
        Files.writeString(file, "{\"chain\":\"" + chain + "\",\"seq\":", java.nio.file.StandardOpenOption.APPEND);
        extend(chain, 5);
        Checkpoint next = checkpoint(chain);
        assertEquals(10, next.seq());
        Verification verification = verify(chain);
        assertTrue(verification.valid(), verification.toString());
        assertEquals(3, Files.readAllLines(file).size(), "the torn line was ended, the next one written whole");
    }

    @Test
    void checkpointsAreWrittenAfterEveryThousandEvents() {
        String chain = chainOf(2_100);
        // The signer works after the append returns.
        org.awaitility.Awaitility.await().atMost(WAIT).until(() -> checkpoints.checked(chain).await().atMost(WAIT)
                .validHeadHashes().keySet().stream().filter(seq -> seq >= 2_000).count() == 1);
        assertTrue(checkpoints.checked(chain).await().atMost(WAIT).validHeadHashes().keySet().stream()
                .anyMatch(seq -> seq >= 1_000 && seq < 2_000));
        assertTrue(verify(chain).valid());
    }

    @Test
    void theServiceRoleCannotUpdateDeleteOrTruncate() throws SQLException {
        String chain = chainOf(3);
        assertRefused(appUser, appPassword, chain, "must be owner|permission denied", true);
        assertTrue(verify(chain).valid());
    }

    @Test
    void evenTheOwnerCannotUpdateDeleteOrTruncateWhileTheTriggersStand() throws SQLException {
        String chain = chainOf(3);
        assertRefused(ownerUser, ownerPassword, chain, "append-only", false);
        assertTrue(verify(chain).valid());
    }

    /** Every statement that would rewrite history fails for this login, with a message matching {@code why}. */
    private void assertRefused(String user, String userPassword, String chain, String why,
            boolean alsoDisablingTriggers)
            throws SQLException {
        List<String> statements = new ArrayList<>(List.of(
                "UPDATE audit_entry SET action = 'x.y' WHERE chain = '" + chain + "'",
                "DELETE FROM audit_entry WHERE chain = '" + chain + "'", "TRUNCATE audit_entry"));
        if (alsoDisablingTriggers) {
            statements.add("ALTER TABLE audit_entry DISABLE TRIGGER USER");
        }
        try (Connection connection = DriverManager.getConnection(url, user, userPassword);
                Statement statement = connection.createStatement()) {
            for (String sql : statements) {
                SQLException refused = assertThrows(SQLException.class, () -> statement.execute(sql), sql);
                assertTrue(java.util.regex.Pattern.compile(why).matcher(refused.getMessage()).find(),
                        sql + ": " + refused.getMessage());
            }
        }
    }

    @Test
    void concurrentProducersBuildAGaplessChain() throws Exception {
        String tenant = AuditEventsFixture.freshTenant();
        ExecutorService producers = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int p = 0; p < 8; p++) {
                done.add(producers.submit(() -> {
                    for (int batch = 0; batch < 25; batch++) {
                        chains.append(AuditEventsFixture.storedEvents(tenant, 4)).await().atMost(WAIT);
                    }
                }));
            }
            for (Future<?> future : done) {
                future.get();
            }
        } finally {
            producers.shutdownNow();
        }
        Verification verification = verify(tenant);
        assertTrue(verification.valid(), verification.toString());
        assertEquals(8 * 25 * 4, verification.checked());
    }
}
