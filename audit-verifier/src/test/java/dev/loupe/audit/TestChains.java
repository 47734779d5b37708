package dev.loupe.audit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.UnaryOperator;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

import dev.loupe.audit.evidence.EvidenceManifest;
import dev.loupe.audit.evidence.EvidencePackWriter;
import dev.loupe.audit.evidence.PackKey;

import static java.nio.charset.StandardCharsets.UTF_8;

/**
 * Synthetic chains, signing keys and evidence packs for tests, built with the same hash and signature rules as
 * the governance-service, plus a way to tamper with a pack's zip.
 */
public final class TestChains {
    public static final String CHAIN = "acme";
    public static final String KEY_ID = "local:audit-checkpoints:v1";
    public static final Instant T0 = Instant.parse("2026-03-01T09:00:00.123456Z");
    public static final String README = "# The audit chain\n";

    private TestChains() {
    }

    /** Entries {@code 1..count} of a chain, linked from genesis. */
    public static List<AuditEntry> chain(String chain, int count) {
        List<AuditEntry> entries = new ArrayList<>();
        String prevHash = ChainHash.GENESIS;
        for (long seq = 1; seq <= count; seq++) {
            AuditEntry entry = entry(chain, seq, event(chain, seq, "user-" + seq), prevHash);
            entries.add(entry);
            prevHash = entry.hash();
        }
        return entries;
    }

    public static AuditEvent event(String chain, long seq, String actorUserId) {
        return new AuditEvent(new UUID(0x10ad, seq), T0.plusSeconds(seq), chain, actorUserId, "alice", "", "", "",
                "dataset.created", "dataset", "ds-" + seq, "success", "req-" + seq, "{\"name\":\"cats\",\"n\":" + seq
                        + "}",
                "dataset-service");
    }

    /** An entry with the hash it must carry. */
    public static AuditEntry entry(String chain, long seq, AuditEvent event, String prevHash) {
        Instant appendedAt = event.occurredAt().plusMillis(1);
        return new AuditEntry(chain, seq, event, appendedAt, prevHash,
                ChainHash.of(chain, seq, event, appendedAt, prevHash));
    }

    /** Entries {@code from..to} (1-based, inclusive) of a chain. */
    public static List<AuditEntry> run(List<AuditEntry> chain, long from, long to) {
        return chain.subList((int) from - 1, (int) to);
    }

    /** Checkpoints of the given entries, signed by {@code signer}. */
    public static List<Checkpoint> checkpoints(List<AuditEntry> chain, Signer signer, long... seqs) {
        List<Checkpoint> checkpoints = new ArrayList<>();
        for (long seq : seqs) {
            AuditEntry entry = chain.get((int) seq - 1);
            checkpoints.add(signer.checkpoint(entry.chain(), seq, entry.hash()));
        }
        return checkpoints;
    }

    /** Writes a pack the way the exporter does. */
    public static Path writePack(Path file, List<AuditEntry> entries, List<Checkpoint> checkpoints,
            List<PackKey> keys) throws IOException {
        try (EvidencePackWriter pack = new EvidencePackWriter(Files.newOutputStream(file))) {
            for (AuditEntry entry : entries) {
                pack.entry(entry);
            }
            pack.finish(EvidenceManifest.of(entries.get(0).chain(), T0, T0.plusSeconds(3600),
                    T0.plusSeconds(7200), "olivia"), checkpoints, keys, README);
        }
        return file;
    }

    /** The zip entries of a pack, in order. */
    public static Map<String, String> unzip(Path file) throws IOException {
        Map<String, String> content = new LinkedHashMap<>();
        try (InputStream in = Files.newInputStream(file); ZipInputStream zip = new ZipInputStream(in, UTF_8)) {
            for (ZipEntry entry = zip.getNextEntry(); entry != null; entry = zip.getNextEntry()) {
                content.put(entry.getName(), new String(zip.readAllBytes(), UTF_8));
            }
        }
        return content;
    }

    /** Writes zip entries in the map's order, as an attacker's zip tool would. */
    public static void zip(Path file, Map<String, String> content) throws IOException {
        try (OutputStream out = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(out, UTF_8)) {
            for (Map.Entry<String, String> entry : content.entrySet()) {
                zip.putNextEntry(new ZipEntry(entry.getKey()));
                zip.write(entry.getValue().getBytes(UTF_8));
                zip.closeEntry();
            }
        }
    }

    /** Rewrites one zip entry of a pack in place. */
    public static void edit(Path file, String name, UnaryOperator<String> change) throws IOException {
        Map<String, String> content = unzip(file);
        String before = content.get(name);
        String after = change.apply(before);
        if (after.equals(before)) {
            throw new IllegalStateException("The edit of " + name + " changed nothing");
        }
        content.put(name, after);
        zip(file, content);
    }

    /** Changes line {@code number} (1-based) of a JSON-lines text; the edit must change something. */
    public static String editLine(String text, int number, UnaryOperator<String> change) {
        List<String> lines = new ArrayList<>(Arrays.asList(text.split("\n", -1)));
        String before = lines.get(number - 1);
        String after = change.apply(before);
        if (after.equals(before)) {
            throw new IllegalStateException("The edit of line " + number + " changed nothing");
        }
        lines.set(number - 1, after);
        return String.join("\n", lines);
    }

    /** Removes line {@code number} (1-based) of a JSON-lines text. */
    public static String deleteLine(String text, int number) {
        List<String> lines = new ArrayList<>(Arrays.asList(text.split("\n", -1)));
        lines.remove(number - 1);
        return String.join("\n", lines);
    }

    /** An Ed25519 key pair of the JDK that signs checkpoints like the KMS does. */
    public static final class Signer {
        private final String keyId;
        private final KeyPair keyPair;

        private Signer(String keyId, KeyPair keyPair) {
            this.keyId = keyId;
            this.keyPair = keyPair;
        }

        public static Signer generate(String keyId) {
            try {
                return new Signer(keyId, KeyPairGenerator.getInstance("Ed25519").generateKeyPair());
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("Ed25519 is part of every Java 17 runtime", e);
            }
        }

        /** The raw 32-byte public key: the last 32 bytes of its X.509 encoding. */
        public byte[] rawPublicKey() {
            byte[] x509 = keyPair.getPublic().getEncoded();
            return Arrays.copyOfRange(x509, x509.length - 32, x509.length);
        }

        public PackKey packKey() {
            return new PackKey(keyId, rawPublicKey());
        }

        public Checkpoint checkpoint(String chain, long seq, String headHash) {
            Instant signedAt = T0.plusSeconds(10_000 + seq);
            try {
                Signature signature = Signature.getInstance("Ed25519");
                signature.initSign(keyPair.getPrivate());
                signature.update(Checkpoint.signedBytes(chain, seq, headHash, signedAt));
                return new Checkpoint(chain, seq, headHash, signedAt, keyId, signature.sign());
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
