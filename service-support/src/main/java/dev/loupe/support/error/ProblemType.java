package dev.loupe.support.error;

import java.net.URI;
import java.util.Arrays;
import java.util.Optional;

import io.grpc.Status;

/**
 * Every kind of error Loupe reports, with its stable problem {@code type} URI, its HTTP status and its gRPC
 * status code. This is the one table that maps between the two: a service fails a call with a problem type,
 * the gateway turns the gRPC status back into the same problem.
 */
public enum ProblemType {
    INVALID_REQUEST("invalid-request", "The request is invalid", 400, Status.Code.INVALID_ARGUMENT), UNAUTHENTICATED(
            "unauthenticated", "A valid bearer token is required", 401,
            Status.Code.UNAUTHENTICATED), FORBIDDEN("forbidden", "Your roles do not allow this", 403,
                    Status.Code.PERMISSION_DENIED), NOT_FOUND("not-found", "Not found", 404,
                            Status.Code.NOT_FOUND), METHOD_NOT_ALLOWED("method-not-allowed", "Method not allowed", 405,
                                    Status.Code.UNIMPLEMENTED), NOT_ACCEPTABLE("not-acceptable",
                                            "No acceptable representation", 406,
                                            Status.Code.INVALID_ARGUMENT), UNSUPPORTED_MEDIA_TYPE(
                                                    "unsupported-media-type", "Unsupported media type", 415,
                                                    Status.Code.INVALID_ARGUMENT), ALREADY_EXISTS("already-exists",
                                                            "It already exists", 409,
                                                            Status.Code.ALREADY_EXISTS), CONFLICT("conflict",
                                                                    "The resource is not in a state that allows this",
                                                                    409,
                                                                    Status.Code.FAILED_PRECONDITION), IDEMPOTENCY_KEY_REUSED(
                                                                            "idempotency-key-reused",
                                                                            "This Idempotency-Key was used for a different request",
                                                                            422,
                                                                            Status.Code.FAILED_PRECONDITION), RATE_LIMITED(
                                                                                    "rate-limited", "Too many requests",
                                                                                    429,
                                                                                    Status.Code.RESOURCE_EXHAUSTED), INTERNAL(
                                                                                            "internal-error",
                                                                                            "Internal error", 500,
                                                                                            Status.Code.INTERNAL), NOT_IMPLEMENTED(
                                                                                                    "not-implemented",
                                                                                                    "Not implemented yet",
                                                                                                    501,
                                                                                                    Status.Code.UNIMPLEMENTED), SERVICE_UNAVAILABLE(
                                                                                                            "service-unavailable",
                                                                                                            "A service Loupe depends on is unavailable",
                                                                                                            503,
                                                                                                            Status.Code.UNAVAILABLE), UPSTREAM_TIMEOUT(
                                                                                                                    "upstream-timeout",
                                                                                                                    "A service Loupe depends on did not answer in time",
                                                                                                                    504,
                                                                                                                    Status.Code.DEADLINE_EXCEEDED),
    /** Stored data failed its integrity check or its key is gone: never answered with other bytes. */
    STORED_DATA_UNREADABLE("stored-data-unreadable", "Stored data cannot be read", 500, Status.Code.DATA_LOSS),
    /** The data is under legal hold: nobody may delete or erase it until the hold is released. */
    LEGAL_HOLD("legal-hold", "The data is under legal hold", 409, Status.Code.FAILED_PRECONDITION);

    /** Base of every problem type URI; the URIs identify problems and need not resolve. */
    public static final String TYPE_BASE = "https://loupe.dev/problems/";

    private final String slug;
    private final String title;
    private final int httpStatus;
    private final Status.Code grpcCode;

    ProblemType(String slug, String title, int httpStatus, Status.Code grpcCode) {
        this.slug = slug;
        this.title = title;
        this.httpStatus = httpStatus;
        this.grpcCode = grpcCode;
    }

    public String slug() {
        return slug;
    }

    public URI uri() {
        return URI.create(TYPE_BASE + slug);
    }

    public String title() {
        return title;
    }

    public int httpStatus() {
        return httpStatus;
    }

    public Status.Code grpcCode() {
        return grpcCode;
    }

    public static Optional<ProblemType> fromSlug(String slug) {
        return Arrays.stream(values()).filter(t -> t.slug.equals(slug)).findFirst();
    }

    /** The problem a gRPC status code means when the status carries no problem type of its own. */
    public static ProblemType forGrpcCode(Status.Code code) {
        return switch (code) {
            case INVALID_ARGUMENT, OUT_OF_RANGE -> INVALID_REQUEST;
            case UNAUTHENTICATED -> UNAUTHENTICATED;
            case PERMISSION_DENIED -> FORBIDDEN;
            case NOT_FOUND -> NOT_FOUND;
            case ALREADY_EXISTS -> ALREADY_EXISTS;
            case FAILED_PRECONDITION, ABORTED -> CONFLICT;
            case RESOURCE_EXHAUSTED -> RATE_LIMITED;
            case UNIMPLEMENTED -> NOT_IMPLEMENTED;
            case UNAVAILABLE -> SERVICE_UNAVAILABLE;
            case DEADLINE_EXCEEDED -> UPSTREAM_TIMEOUT;
            case DATA_LOSS -> STORED_DATA_UNREADABLE;
            case OK, CANCELLED, UNKNOWN, INTERNAL -> INTERNAL;
        };
    }

    /** The problem an HTTP status means when nothing more specific is known. */
    public static ProblemType forHttpStatus(int status) {
        return Arrays.stream(values())
                .filter(t -> t.httpStatus == status)
                .findFirst()
                .orElse(status >= 500 ? INTERNAL : INVALID_REQUEST);
    }
}
