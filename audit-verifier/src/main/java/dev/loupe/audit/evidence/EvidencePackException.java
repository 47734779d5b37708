package dev.loupe.audit.evidence;

/**
 * A pack cannot be read: not a zip, a zip entry missing or repeated, or content that does not parse. The message
 * names the file or zip entry and, for JSON lines, the line number at fault. This is not a verification finding:
 * a pack that reads but does not verify yields an invalid {@link dev.loupe.audit.Verification} instead.
 */
public class EvidencePackException extends Exception {
    private static final long serialVersionUID = 1L;

    public EvidencePackException(String message) {
        super(message);
    }

    public EvidencePackException(String message, Throwable cause) {
        super(message, cause);
    }
}
