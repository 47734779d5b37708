package dev.loupe.support.error;

import java.util.Optional;

/**
 * An error meant for the caller: its problem type, a detail in words the caller can act on, and the field at
 * fault when one is. Services throw it; the gRPC layer and the REST mappers turn it into a status or a
 * problem+json body. Its message is always safe to send.
 */
public class ProblemException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ProblemType type;
    private final String field;

    public ProblemException(ProblemType type, String detail) {
        this(type, detail, null);
    }

    public ProblemException(ProblemType type, String detail, String field) {
        super(detail, null, false, false);
        this.type = type;
        this.field = field;
    }

    public ProblemType type() {
        return type;
    }

    public String detail() {
        return getMessage();
    }

    /** The request field at fault (JSON field name or path), if any. */
    public Optional<String> field() {
        return Optional.ofNullable(field);
    }

    public static ProblemException notFound(String what, String id) {
        return new ProblemException(ProblemType.NOT_FOUND, what + " " + id + " does not exist");
    }

    public static ProblemException invalid(String field, String detail) {
        return new ProblemException(ProblemType.INVALID_REQUEST, detail, field);
    }
}
