package dev.loupe.audit.verifier;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.loupe.audit.AuditEntry;
import dev.loupe.audit.AuditJson;
import dev.loupe.audit.Checkpoint;
import dev.loupe.audit.TestChains;
import dev.loupe.audit.TestChains.Signer;
import dev.loupe.audit.Verification;
import dev.loupe.audit.evidence.EvidencePack;
import dev.loupe.audit.verifier.PackVerification.Use;

import static dev.loupe.audit.TestChains.CHAIN;
import static dev.loupe.audit.TestChains.KEY_ID;
import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.stream.Collectors.joining;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A 25-entry chain with checkpoints at 10, 20 and 25, exported and then tampered with in the ways an attacker
 * with the pack, or with the database before the export, could.
 */
class VerifyEvidencePackTest {
    @TempDir
    Path dir;
    private final Signer operator = Signer.generate(KEY_ID);
    private final List<AuditEntry> chain = TestChains.chain(CHAIN, 25);
    private Path pack;

    @BeforeEach
    void exportPack() throws IOException {
        pack = TestChains.writePack(dir.resolve("pack.zip"), chain, TestChains.checkpoints(chain, operator, 10, 20,
                25), List.of(operator.packKey()));
    }

    @Test
    void aFreshPackVerifies() throws Exception {
        PackVerification result = VerifyEvidencePack.verify(pack, List.of());

        assertTrue(result.valid(), result.report());
        assertEquals(Verification.valid(25), result.chain());
        assertEquals(25, result.entries());
        assertEquals(3, result.checkpointsValid());
        assertEquals(3, result.checkpointsTotal());
        assertEquals(List.of(new PackVerification.KeyUse(KEY_ID, operator.packKey().fingerprint(), Use.FROM_PACK)),
                result.keys());
        assertEquals(List.of(), result.problems());

        Cli cli = cli(pack.toString());
        assertEquals(0, cli.code, cli.err);
        assertTrue(cli.out.contains("\nVALID\n"), cli.out);
        assertTrue(cli.out.contains(KEY_ID + "  " + operator.packKey().fingerprint()), cli.out);
        assertEquals("", cli.err);
    }

    @Test
    void aFreshPackVerifiesWithTheTrustedKey() throws Exception {
        PackVerification result = VerifyEvidencePack.verify(pack, List.of(operator.packKey()));
        assertTrue(result.valid(), result.report());

        Cli cli = cli(pack.toString(), "--trusted-key", trusted(operator));
        assertEquals(0, cli.code, cli.out + cli.err);
        assertTrue(cli.out.contains("trusted (--trusted-key)"), cli.out);
    }

    @Test
    void oneByteOfAnActorIsFoundAtItsEntry() throws Exception {
        TestChains.edit(pack, EvidencePack.ENTRIES, text -> TestChains.editLine(text, 7,
                line -> line.replace("\"actor_user_id\":\"user-7\"", "\"actor_user_id\":\"user-8\"")));

        assertInvalid(Verification.invalid(6, 7, Verification.MODIFIED_ENTRY));
        Cli cli = cli(pack.toString());
        assertEquals(1, cli.code);
        assertTrue(cli.out.contains("INVALID  first_invalid_seq=7  reason=modified_entry"), cli.out);
    }

    @Test
    void oneByteOfAHashIsFoundAtItsEntry() throws Exception {
        TestChains.edit(pack, EvidencePack.ENTRIES,
                text -> TestChains.editLine(text, 12, line -> flipFirstChar(line, ",\"hash\":\"")));

        assertInvalid(Verification.invalid(11, 12, Verification.MODIFIED_ENTRY));
    }

    @Test
    void aDeletedLineIsAMissingEntry() throws Exception {
        TestChains.edit(pack, EvidencePack.ENTRIES, text -> TestChains.deleteLine(text, 9));

        PackVerification result = assertInvalid(Verification.invalid(8, 9, Verification.MISSING_ENTRY));
        assertEquals(List.of("manifest.json: entries is 25, entries.jsonl holds 24"), result.problems());
    }

    @Test
    void theLastLinesDeletedAreATruncatedTail() throws Exception {
        TestChains.edit(pack, EvidencePack.ENTRIES,
                text -> TestChains.deleteLine(TestChains.deleteLine(text, 25), 24));

        assertInvalid(Verification.invalid(23, 24, Verification.TRUNCATED_TAIL));
    }

    @Test
    void anEditedCheckpointLineIsAnInvalidSignature() throws Exception {
        TestChains.edit(pack, EvidencePack.CHECKPOINTS,
                text -> TestChains.editLine(text, 1, line -> flipFirstChar(line, "\"head_hash\":\"")));

        PackVerification result = assertInvalid(
                Verification.invalid(9, 10, Verification.CHECKPOINT_SIGNATURE_INVALID));
        assertEquals(2, result.checkpointsValid());
        assertEquals(3, result.checkpointsTotal());
    }

    @Test
    void anEditedFinalCheckpointIsReportedAsItsSignatureNotAsMissing() throws Exception {
        TestChains.edit(pack, EvidencePack.CHECKPOINTS,
                text -> TestChains.editLine(text, 3, line -> flipFirstChar(line, "\"head_hash\":\"")));

        assertInvalid(Verification.invalid(24, 25, Verification.CHECKPOINT_SIGNATURE_INVALID));
    }

    @Test
    void aPackWithoutTheFinalCheckpointIsMissingIt() throws Exception {
        TestChains.writePack(pack, chain, TestChains.checkpoints(chain, operator, 10, 20),
                List.of(operator.packKey()));

        assertInvalid(Verification.invalid(24, 25, Verification.MISSING_CHECKPOINT));
        Cli cli = cli(pack.toString());
        assertEquals(1, cli.code);
        assertTrue(cli.out.contains("first_invalid_seq=25  reason=missing_checkpoint"), cli.out);
    }

    @Test
    void entriesForgedAfterTheLastCheckpointWithAMatchingManifestAreMissingACheckpoint() throws Exception {
        AuditEntry forged = TestChains.entry(CHAIN, 26, TestChains.event(CHAIN, 26, "mallory"),
                chain.get(24).hash());
        TestChains.edit(pack, EvidencePack.ENTRIES, text -> text + AuditJson.entryLine(forged) + "\n");
        TestChains.edit(pack, EvidencePack.MANIFEST,
                text -> text.replace("\"last_seq\" : 25", "\"last_seq\" : 26").replace("\"entries\" : 25",
                        "\"entries\" : 26"));

        assertInvalid(Verification.invalid(25, 26, Verification.MISSING_CHECKPOINT));
    }

    @Test
    void anEntryPastTheManifestsLastSeqIsInserted() throws Exception {
        AuditEntry forged = TestChains.entry(CHAIN, 26, TestChains.event(CHAIN, 26, "mallory"),
                chain.get(24).hash());
        TestChains.edit(pack, EvidencePack.ENTRIES, text -> text + AuditJson.entryLine(forged) + "\n");

        assertInvalid(Verification.invalid(25, 26, Verification.INSERTED_ENTRY));
    }

    @Test
    void aManifestThatMiscountsIsAFinding() throws Exception {
        TestChains.edit(pack, EvidencePack.MANIFEST, text -> text.replace("\"entries\" : 25", "\"entries\" : 24"));

        PackVerification result = VerifyEvidencePack.verify(pack, List.of());
        assertTrue(result.chain().valid());
        assertFalse(result.valid());
        assertEquals(List.of("manifest.json: entries is 24, entries.jsonl holds 25"), result.problems());
        assertEquals(1, cli(pack.toString()).code);
    }

    @Test
    void aPackReSignedByAnAttackerPassesOnlyWithoutTheTrustedKey() throws Exception {
        // The attacker rewrote entry 5 in the database, recomputed every hash after it and signed the new heads
        // with a key of their own, published in the pack under the operator's key id.
        List<AuditEntry> forged = new ArrayList<>(TestChains.run(chain, 1, 4));
        for (long seq = 5; seq <= 25; seq++) {
            var event = seq == 5 ? TestChains.event(CHAIN, 5, "mallory") : chain.get((int) seq - 1).event();
            forged.add(TestChains.entry(CHAIN, seq, event, forged.get((int) seq - 2).hash()));
        }
        Signer attacker = Signer.generate(KEY_ID);
        TestChains.writePack(pack, forged, TestChains.checkpoints(forged, attacker, 10, 20, 25),
                List.of(attacker.packKey()));

        PackVerification untrusted = VerifyEvidencePack.verify(pack, List.of());
        assertTrue(untrusted.valid(), untrusted.report());
        assertEquals(attacker.packKey().fingerprint(), untrusted.keys().get(0).fingerprint());
        assertEquals(0, cli(pack.toString()).code);

        PackVerification result = VerifyEvidencePack.verify(pack, List.of(operator.packKey()));
        assertEquals(Verification.invalid(9, 10, Verification.CHECKPOINT_SIGNATURE_INVALID), result.chain());
        assertEquals(0, result.checkpointsValid());
        assertEquals(List.of(new PackVerification.KeyUse(KEY_ID, operator.packKey().fingerprint(), Use.TRUSTED),
                new PackVerification.KeyUse(KEY_ID, attacker.packKey().fingerprint(), Use.DIFFERS_FROM_TRUSTED)),
                result.keys());
        assertEquals(1, result.problems().size());
        assertTrue(result.problems().get(0).startsWith("verification-keys.json: key " + KEY_ID
                + " differs from the trusted key"), result.problems().get(0));

        Cli cli = cli(pack.toString(), "--trusted-key", trusted(operator));
        assertEquals(1, cli.code);
        assertTrue(cli.out.contains("INVALID  first_invalid_seq=10  reason=checkpoint_signature_invalid"), cli.out);
        assertTrue(cli.out.contains("DIFFERS from the trusted key"), cli.out);
    }

    @Test
    void aKeyUnderAnotherIdIsNotUsedWhenKeysAreTrusted() throws Exception {
        Signer attacker = Signer.generate("local:audit-checkpoints:v2");
        TestChains.writePack(pack, chain, TestChains.checkpoints(chain, attacker, 10, 20, 25),
                List.of(attacker.packKey()));

        PackVerification result = VerifyEvidencePack.verify(pack, List.of(operator.packKey()));

        assertEquals(Verification.invalid(9, 10, Verification.CHECKPOINT_SIGNATURE_INVALID), result.chain());
        assertEquals(Use.NOT_TRUSTED, result.keys().get(1).use());
        assertEquals(List.of(), result.problems());
    }

    @Test
    void twoSignedHeadsForOneEntryVouchForNeither() throws Exception {
        List<Checkpoint> checkpoints = new ArrayList<>(TestChains.checkpoints(chain, operator, 10, 20, 25));
        checkpoints.add(operator.checkpoint(CHAIN, 20, "e".repeat(64)));
        TestChains.writePack(pack, chain, checkpoints, List.of(operator.packKey()));

        assertInvalid(Verification.invalid(10, 11, Verification.MODIFIED_ENTRY));
    }

    @Test
    void anEntryOfAnotherChainLinkedInIsInserted() throws Exception {
        List<AuditEntry> forged = new ArrayList<>(TestChains.run(chain, 1, 21));
        forged.add(TestChains.entry("globex", 22, TestChains.event("globex", 22, "user-22"), chain.get(20).hash()));
        for (long seq = 23; seq <= 25; seq++) {
            forged.add(TestChains.entry(CHAIN, seq, chain.get((int) seq - 1).event(), forged.get((int) seq - 2)
                    .hash()));
        }
        TestChains.edit(pack, EvidencePack.ENTRIES,
                text -> forged.stream().map(entry -> AuditJson.entryLine(entry) + "\n").collect(joining()));

        assertInvalid(Verification.invalid(21, 22, Verification.INSERTED_ENTRY));
    }

    @Test
    void aPackStartingAfterEntryOneVerifies() throws Exception {
        List<AuditEntry> longer = TestChains.chain(CHAIN, 40);
        TestChains.writePack(pack, TestChains.run(longer, 11, 40), TestChains.checkpoints(longer, operator, 20, 30,
                40), List.of(operator.packKey()));

        PackVerification result = VerifyEvidencePack.verify(pack, List.of(operator.packKey()));

        assertTrue(result.valid(), result.report());
        assertEquals(Verification.valid(30), result.chain());
        assertEquals(0, cli(pack.toString()).code);
    }

    @Test
    void aForgedFirstLinkIsCaughtByTheCheckpointAfterIt() throws Exception {
        List<AuditEntry> longer = TestChains.chain(CHAIN, 40);
        List<AuditEntry> run = new ArrayList<>(TestChains.run(longer, 11, 40));
        run.set(0, TestChains.entry(CHAIN, 11, run.get(0).event(), "f".repeat(64)));
        for (int i = 1; i < run.size(); i++) {
            run.set(i, TestChains.entry(CHAIN, 11 + i, run.get(i).event(), run.get(i - 1).hash()));
        }
        List<Checkpoint> genuine = TestChains.checkpoints(longer, operator, 20, 30, 40);
        TestChains.writePack(pack, run, genuine, List.of(operator.packKey()));

        assertInvalid(Verification.invalid(0, 11, Verification.MODIFIED_ENTRY));
    }

    @Test
    void textFromThePackCannotDrawOnTheTerminal() throws Exception {
        TestChains.edit(pack, EvidencePack.MANIFEST, text -> text.replace("\"exported_by\" : \"olivia\"",
                "\"exported_by\" : \"olivia\\nVALID\\u001b[8m\\u202e\""));

        Cli cli = cli(pack.toString());

        assertEquals(0, cli.code, cli.out);
        assertTrue(cli.out.contains(" by olivia\\u000aVALID\\u001b[8m\\u202e\n"), cli.out);
        assertFalse(cli.out.contains("\u001b"), cli.out);
    }

    @Test
    void anUnreadableFileExitsWithTwoAndSaysWhy() throws Exception {
        Path garbage = Files.writeString(dir.resolve("garbage.zip"), "not a zip at all");

        Cli cli = cli(garbage.toString());

        assertEquals(2, cli.code);
        assertEquals("", cli.out);
        assertTrue(cli.err.startsWith("Cannot read the evidence pack " + garbage + ": not a zip file"), cli.err);
        assertFalse(cli.err.contains("\tat "), cli.err);
    }

    @Test
    void aMissingFileExitsWithTwo() {
        Cli cli = cli(dir.resolve("absent.zip").toString());

        assertEquals(2, cli.code);
        assertTrue(cli.err.contains("absent.zip: no such file"), cli.err);
    }

    @Test
    void aLineThatDoesNotParseExitsWithTwoNamingIt() throws Exception {
        TestChains.edit(pack, EvidencePack.ENTRIES, text -> TestChains.editLine(text, 3, line -> line.substring(1)));

        Cli cli = cli(pack.toString());

        assertEquals(2, cli.code);
        assertTrue(cli.err.contains("entries.jsonl line 3: not a JSON object"), cli.err);
    }

    @Test
    void badUsageExitsWithTwo() {
        assertEquals(2, cli().code);
        assertEquals(2, cli(pack.toString(), "--trusted-key").code);
        Cli notBase64 = cli(pack.toString(), "--trusted-key", KEY_ID + "=***");
        assertEquals(2, notBase64.code);
        assertTrue(notBase64.err.startsWith("--trusted-key " + KEY_ID + ": the key is not base64"), notBase64.err);
        Cli shortKey = cli(pack.toString(), "--trusted-key", KEY_ID + "=AAAA");
        assertEquals(2, shortKey.code);
        assertTrue(shortKey.err.contains("3 bytes, not a raw 32-byte Ed25519 public key"), shortKey.err);
        assertEquals(2, cli(pack.toString(), "--verbose").code);
        assertEquals(2, cli(pack.toString(), pack.toString()).code);
        assertEquals(0, cli("--help").code);
    }

    private PackVerification assertInvalid(Verification expected) throws Exception {
        PackVerification result = VerifyEvidencePack.verify(pack, List.of(operator.packKey()));
        assertEquals(expected, result.chain(), result.report());
        assertFalse(result.valid());
        assertEquals(expected, VerifyEvidencePack.verify(pack, List.of()).chain());
        return result;
    }

    /** Changes one hex digit: the first after {@code prefix}. */
    private static String flipFirstChar(String line, String prefix) {
        int at = line.indexOf(prefix) + prefix.length();
        char flipped = line.charAt(at) == '0' ? '1' : '0';
        return line.substring(0, at) + flipped + line.substring(at + 1);
    }

    private static String trusted(Signer signer) {
        return KEY_ID + "=" + Base64.getEncoder().encodeToString(signer.rawPublicKey());
    }

    private static Cli cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = VerifyEvidencePack.run(args, new PrintStream(out, true, UTF_8), new PrintStream(err, true, UTF_8));
        return new Cli(code, out.toString(UTF_8), err.toString(UTF_8));
    }

    private record Cli(int code, String out, String err) {
    }
}
