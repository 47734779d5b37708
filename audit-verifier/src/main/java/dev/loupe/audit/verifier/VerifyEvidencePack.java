package dev.loupe.audit.verifier;

import java.io.PrintStream;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import dev.loupe.audit.AuditEntry;
import dev.loupe.audit.ChainHash;
import dev.loupe.audit.ChainWalk;
import dev.loupe.audit.Checkpoint;
import dev.loupe.audit.Verification;
import dev.loupe.audit.evidence.EvidenceManifest;
import dev.loupe.audit.evidence.EvidencePackException;
import dev.loupe.audit.evidence.EvidencePackReader;
import dev.loupe.audit.evidence.PackKey;
import dev.loupe.audit.verifier.PackVerification.KeyUse;
import dev.loupe.audit.verifier.PackVerification.Use;

/**
 * Verifies an evidence pack offline:
 * {@code java -jar loupe-audit-verifier-<version>-standalone.jar PACK.zip [--trusted-key KEY_ID=BASE64]...}.
 * Exit code 0: valid; 1: invalid; 2: the pack cannot be read, or bad usage.
 *
 * <p>
 * The entries are walked with {@link ChainWalk} against the checkpoints whose signatures verify, and the result
 * is combined with bad signatures as {@link Verification#withCheckpointSignatures} does, as in the
 * governance-service, so that both report the same first invalid entry and reason. On top of that the last entry
 * of the pack must carry a valid checkpoint ({@link Verification#MISSING_CHECKPOINT}): the pack's first entry
 * links to nothing in the pack, and only a signature at the end shows that no run before it was rewritten.
 */
public final class VerifyEvidencePack {
    static final String USAGE = "Usage: java -jar loupe-audit-verifier-<version>-standalone.jar PACK.zip"
            + " [--trusted-key KEY_ID=BASE64_RAW_PUBLIC_KEY]...\n"
            + "  --trusted-key  verify checkpoints with this Ed25519 public key (raw 32 bytes, base64) only, not with"
            + " the keys in the pack; repeat for several key versions\n"
            + "Exit code: 0 valid, 1 invalid, 2 unreadable pack or bad usage.";

    private VerifyEvidencePack() {
    }

    /** Runs the command line and exits with its code. */
    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /**
     * Runs the command line: the report on {@code out}, errors on {@code err}, never a stack trace.
     *
     * @return the exit code: 0 valid, 1 invalid, 2 unreadable pack or bad usage
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        Path pack = null;
        List<PackKey> trusted = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("-h") || arg.equals("--help")) {
                out.println(USAGE);
                return 0;
            } else if (arg.equals("--trusted-key")) {
                if (i + 1 == args.length) {
                    return usage(err, "--trusted-key needs KEY_ID=BASE64_RAW_PUBLIC_KEY");
                }
                String problem = addTrustedKey(trusted, args[++i]);
                if (problem != null) {
                    return usage(err, problem);
                }
            } else if (arg.startsWith("-")) {
                return usage(err, "unknown option " + arg);
            } else if (pack != null) {
                return usage(err, "one pack at a time");
            } else {
                try {
                    pack = Path.of(arg);
                } catch (InvalidPathException e) {
                    return usage(err, "not a file name: " + arg);
                }
            }
        }
        if (pack == null) {
            return usage(err, "no pack given");
        }
        try {
            PackVerification result = verify(pack, trusted);
            out.println("Evidence pack " + pack);
            out.print(result.report());
            return result.valid() ? 0 : 1;
        } catch (EvidencePackException e) {
            err.println("Cannot read the evidence pack " + pack + ": " + PackVerification.printable(e.getMessage()));
            return 2;
        } catch (RuntimeException e) {
            // A bug, not a finding about the pack: say so without a stack trace, and do not claim a verdict.
            err.println("Cannot verify " + pack + ": " + PackVerification.printable(e.toString()));
            return 2;
        }
    }

    /**
     * Verifies a pack file.
     *
     * @param trustedKeys the operator's published keys; when empty, the pack's own keys are used, which shows
     *        the pack is intact but not who signed it
     * @throws EvidencePackException when the pack cannot be read
     */
    public static PackVerification verify(Path pack, List<PackKey> trustedKeys) throws EvidencePackException {
        try (EvidencePackReader reader = EvidencePackReader.open(pack)) {
            return verify(reader, trustedKeys);
        }
    }

    private static PackVerification verify(EvidencePackReader reader, List<PackKey> trustedKeys)
            throws EvidencePackException {
        EvidenceManifest manifest = reader.manifest();
        List<String> problems = new ArrayList<>();
        List<KeyUse> keyUses = new ArrayList<>();
        Map<String, byte[]> keys = keys(reader.keys(), trustedKeys, keyUses, problems);
        CheckedCheckpoints checkpoints = check(reader.checkpoints(), manifest.chain(), keys);
        // As in the service: the end is the last entry or the newest valid checkpoint, whichever is further, so
        // a pack cut short before a checkpoint it still carries is a truncated tail.
        long end = Math.max(manifest.lastSeq(), checkpoints.newestValidSeq());

        Walked walked = walk(reader, manifest, checkpoints.validHeadHashes(), end);
        Verification result = Verification.withCheckpointSignatures(walked.result(),
                checkpoints.invalidSeqs().subSet(manifest.firstSeq(), true, end, true), manifest.firstSeq());

        if (manifest.entries() != walked.entries()) {
            problems.add("manifest.json: entries is " + manifest.entries() + ", entries.jsonl holds "
                    + walked.entries());
        }
        if (result.valid() && walked.lastSeq() != manifest.lastSeq()) {
            problems.add("manifest.json: last_seq is " + manifest.lastSeq() + ", the entries run to "
                    + walked.lastSeq());
        }
        return new PackVerification(manifest, walked.entries(), result, checkpoints.valid(),
                reader.checkpoints().size(), keyUses, !trustedKeys.isEmpty(), problems);
    }

    /** A pack's checkpoints, their signatures checked, as the service's {@code CheckpointService.checked}. */
    private record CheckedCheckpoints(Map<Long, String> validHeadHashes, TreeSet<Long> invalidSeqs,
            long newestValidSeq, int valid) {
    }

    private static CheckedCheckpoints check(List<Checkpoint> checkpoints, String chain, Map<String, byte[]> keys) {
        Map<Long, String> validHeads = new HashMap<>();
        TreeSet<Long> invalidSeqs = new TreeSet<>();
        long newestValid = 0;
        int valid = 0;
        for (Checkpoint checkpoint : checkpoints) {
            // A checkpoint of another chain vouches for nothing here: it counts as one whose signature fails.
            if (checkpoint.chain().equals(chain) && checkpoint.signatureValid(keys)) {
                valid++;
                newestValid = Math.max(newestValid, checkpoint.seq());
                String other = validHeads.putIfAbsent(checkpoint.seq(), checkpoint.headHash());
                if (other != null && !other.equals(checkpoint.headHash())) {
                    // Two signed heads for one entry: no entry can match both, so none may pass as vouched.
                    validHeads.put(checkpoint.seq(), "");
                }
            } else {
                invalidSeqs.add(checkpoint.seq());
            }
        }
        return new CheckedCheckpoints(validHeads, invalidSeqs, newestValid, valid);
    }

    /**
     * @param result the chain's verification before bad checkpoint signatures are taken into account
     * @param entries lines read
     * @param lastSeq the last entry found intact
     */
    private record Walked(Verification result, long entries, long lastSeq) {
    }

    /** Walks every entry of the pack up to {@code end}, in the order of the file. */
    private static Walked walk(EvidencePackReader reader, EvidenceManifest manifest, Map<Long, String> validHeads,
            long end) throws EvidencePackException {
        long firstSeq = manifest.firstSeq();
        AuditEntry first = reader.nextEntry();
        // Before entry 1 there is nothing to link to but genesis. Later, the entry before the pack is not in it:
        // the first entry's link is taken as given, and the checkpoint at the end vouches for it through the chain.
        String prevHash = firstSeq == 1 || first == null ? ChainHash.GENESIS : first.prevHash();
        ChainWalk walk = new ChainWalk(firstSeq, prevHash, validHeads);
        Verification found = null;
        long beyondEnd = 0;
        long entries = 0;
        for (AuditEntry entry = first; entry != null; entry = reader.nextEntry()) {
            entries++;
            if (found != null || beyondEnd != 0) {
                // Keep reading: the count is checked, and a line that does not parse makes the pack unreadable.
                continue;
            }
            if (entry.seq() < walk.expectedSeq()) {
                // The service reads entries from the database ordered by seq; a file can repeat one or go back.
                found = Verification.invalid(walk.checked(), walk.expectedSeq(), Verification.INSERTED_ENTRY);
            } else if (walk.expectedSeq() > end) {
                beyondEnd = entry.seq();
            } else {
                found = walk.check(entry);
                if (found == null && !entry.chain().equals(manifest.chain())) {
                    // Hashed and linked consistently, yet of another chain: forged into this one.
                    found = Verification.invalid(walk.checked() - 1, entry.seq(), Verification.INSERTED_ENTRY);
                }
            }
        }
        if (found == null) {
            found = walk.finish(end);
        }
        if (found == null && !validHeads.containsKey(end)) {
            found = Verification.invalid(walk.checked() - 1, end, Verification.MISSING_CHECKPOINT);
        }
        if (found == null && beyondEnd != 0) {
            // As in the service, entries past the end are looked at last.
            found = Verification.invalid(walk.checked(), beyondEnd, Verification.INSERTED_ENTRY);
        }
        return new Walked(found == null ? Verification.valid(walk.checked()) : found, entries,
                walk.expectedSeq() - 1);
    }

    /** The keys to verify with: the trusted ones if any were given, else the pack's. */
    private static Map<String, byte[]> keys(List<PackKey> packKeys, List<PackKey> trustedKeys, List<KeyUse> uses,
            List<String> problems) {
        Map<String, byte[]> keys = new LinkedHashMap<>();
        if (trustedKeys.isEmpty()) {
            for (PackKey key : packKeys) {
                keys.put(key.keyId(), key.publicKey());
                uses.add(new KeyUse(key.keyId(), key.fingerprint(), Use.FROM_PACK));
            }
            return keys;
        }
        for (PackKey key : trustedKeys) {
            keys.put(key.keyId(), key.publicKey());
            uses.add(new KeyUse(key.keyId(), key.fingerprint(), Use.TRUSTED));
        }
        for (PackKey key : packKeys) {
            byte[] trusted = keys.get(key.keyId());
            if (trusted == null) {
                uses.add(new KeyUse(key.keyId(), key.fingerprint(), Use.NOT_TRUSTED));
            } else if (!Arrays.equals(trusted, key.publicKey())) {
                // The pack offers another key under this id than the officer trusts: someone meant it to be used.
                uses.add(new KeyUse(key.keyId(), key.fingerprint(), Use.DIFFERS_FROM_TRUSTED));
                problems.add("verification-keys.json: key " + key.keyId() + " differs from the trusted key (pack "
                        + key.fingerprint() + ", trusted " + PackKey.fingerprint(trusted) + ")");
            }
        }
        return keys;
    }

    /** Adds {@code KEY_ID=BASE64}; returns what is wrong with it, or null. */
    private static String addTrustedKey(List<PackKey> trusted, String value) {
        int equals = value.indexOf('=');
        if (equals <= 0) {
            return "--trusted-key " + value + ": expected KEY_ID=BASE64_RAW_PUBLIC_KEY";
        }
        String keyId = value.substring(0, equals);
        byte[] publicKey;
        try {
            publicKey = Base64.getDecoder().decode(value.substring(equals + 1));
        } catch (IllegalArgumentException e) {
            return "--trusted-key " + keyId + ": the key is not base64";
        }
        if (publicKey.length != PackKey.ED25519_KEY_BYTES) {
            return "--trusted-key " + keyId + ": " + publicKey.length
                    + " bytes, not a raw 32-byte Ed25519 public key";
        }
        for (PackKey key : trusted) {
            if (key.keyId().equals(keyId)) {
                return "--trusted-key " + keyId + ": given twice";
            }
        }
        trusted.add(new PackKey(keyId, publicKey));
        return null;
    }

    private static int usage(PrintStream err, String problem) {
        err.println(problem);
        err.println(USAGE);
        return 2;
    }
}
