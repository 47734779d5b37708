package dev.loupe.audit.verifier;

import java.util.List;

import dev.loupe.audit.Verification;
import dev.loupe.audit.evidence.EvidenceManifest;

/**
 * The outcome of verifying an evidence pack.
 *
 * @param manifest as the pack states it (unsigned: {@code problems} says where it disagrees with the entries)
 * @param entries how many entries the pack holds
 * @param chain the chain's verification, as the governance-service would report it for the same entries
 * @param checkpointsValid checkpoints of the pack's chain whose signatures verify with the keys in use
 * @param checkpointsTotal checkpoints in the pack
 * @param keys every key seen, trusted or from the pack, with its fingerprint and its use
 * @param trustedKeysGiven whether the officer gave trusted keys; if not, the pack's own keys were used
 * @param problems findings about the pack rather than the chain: a pack key that differs from the trusted key
 *        of its id, a manifest that disagrees with the entries
 */
public record PackVerification(EvidenceManifest manifest, long entries, Verification chain, int checkpointsValid,
        int checkpointsTotal, List<KeyUse> keys, boolean trustedKeysGiven, List<String> problems) {

    public PackVerification {
        keys = List.copyOf(keys);
        problems = List.copyOf(problems);
    }

    /** Valid when the chain verifies and nothing about the pack is amiss. */
    public boolean valid() {
        return chain.valid() && problems.isEmpty();
    }

    /** A key, its fingerprint for comparison with the operator's published one, and how it was used. */
    public record KeyUse(String keyId, String fingerprint, Use use) {
    }

    /** Where a key came from and whether checkpoints were verified with it. */
    public enum Use {
        /** A key of the pack, used since no trusted key was given. */
        FROM_PACK("from the pack"),
        /** A key given with {@code --trusted-key}. */
        TRUSTED("trusted (--trusted-key)"),
        /** A key of the pack whose id has a trusted key with other bytes: a finding. */
        DIFFERS_FROM_TRUSTED("in the pack, DIFFERS from the trusted key of this id, not used"),
        /** A key of the pack whose id has no trusted key, not used. */
        NOT_TRUSTED("in the pack, not trusted, not used");

        private final String text;

        Use(String text) {
            this.text = text;
        }

        @Override
        public String toString() {
            return text;
        }
    }

    /**
     * The human report the command line prints. Text from the pack is printed with control and format
     * characters escaped, so that a hostile pack cannot draw a verdict of its own on the officer's terminal.
     */
    public String report() {
        StringBuilder text = new StringBuilder();
        text.append("Chain:        ").append(printable(manifest.chain())).append('\n');
        text.append("Entries:      seq ").append(manifest.firstSeq()).append("..").append(manifest.lastSeq())
                .append(", ").append(entries).append(" in the pack, ").append(chain.checked())
                .append(chain.valid() ? " checked\n" : " intact before the first problem\n");
        text.append("Time range:   ").append(orOpen(manifest.from())).append(" .. ").append(orOpen(manifest.to()))
                .append(", exported ").append(manifest.exportedAt()).append(" by ")
                .append(printable(manifest.exportedBy()))
                .append('\n');
        text.append("Checkpoints:  ").append(checkpointsValid).append(" of ").append(checkpointsTotal)
                .append(" valid\n");
        text.append("Keys (SHA-256 fingerprint of the raw public key):\n");
        for (KeyUse key : keys) {
            text.append("  ").append(printable(key.keyId())).append("  ").append(key.fingerprint()).append("  ")
                    .append(key.use()).append('\n');
        }
        if (!trustedKeysGiven) {
            text.append("  No --trusted-key given: the pack vouches for its own keys. Compare these fingerprints with"
                    + " the ones the operator publishes.\n");
        }
        if (valid()) {
            text.append("VALID\n");
        } else {
            text.append("INVALID");
            if (!chain.valid()) {
                text.append("  first_invalid_seq=").append(chain.firstInvalidSeq()).append("  reason=")
                        .append(chain.reason());
            }
            text.append('\n');
            for (String problem : problems) {
                text.append("  ").append(printable(problem)).append('\n');
            }
        }
        return text.toString();
    }

    /**
     * Escapes control and format characters (ANSI escapes, line breaks, bidirectional overrides) as a backslash,
     * {@code u} and four hex digits.
     */
    static String printable(String text) {
        StringBuilder printable = new StringBuilder(text.length());
        text.codePoints().forEach(c -> {
            if (Character.isISOControl(c) || Character.getType(c) == Character.FORMAT) {
                printable.append(String.format("\\u%04x", c));
            } else {
                printable.appendCodePoint(c);
            }
        });
        return printable.toString();
    }

    private static String orOpen(Object instant) {
        return instant == null ? "(open)" : instant.toString();
    }
}
