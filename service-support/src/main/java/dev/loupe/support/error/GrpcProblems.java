package dev.loupe.support.error;

import com.google.protobuf.Any;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;

/**
 * Carries a {@link ProblemException} across gRPC and back: the status code from {@link ProblemType}, the
 * problem type as a {@code google.rpc.ErrorInfo} reason and the field at fault as a
 * {@code google.rpc.BadRequest} violation. Clients read these details, never the description text.
 */
public final class GrpcProblems {
    /** The ErrorInfo domain of Loupe's problem types. */
    public static final String DOMAIN = "loupe.dev";

    private GrpcProblems() {
    }

    public static StatusRuntimeException toStatus(ProblemException problem) {
        com.google.rpc.Status.Builder status = com.google.rpc.Status.newBuilder()
                .setCode(problem.type().grpcCode().value())
                .setMessage(problem.detail())
                .addDetails(Any.pack(ErrorInfo.newBuilder()
                        .setDomain(DOMAIN)
                        .setReason(problem.type().slug())
                        .build()));
        problem.field()
                .ifPresent(field -> status.addDetails(Any.pack(BadRequest.newBuilder()
                        .addFieldViolations(BadRequest.FieldViolation.newBuilder()
                                .setField(field)
                                .setDescription(problem.detail()))
                        .build())));
        return StatusProto.toStatusRuntimeException(status.build());
    }

    /**
     * The problem a failed call reports. Statuses without Loupe details (from a proxy, a deadline, an
     * unreachable service) become the problem their code means, with a generic detail: a description that
     * did not come from a Loupe service is never passed on.
     */
    public static ProblemException fromStatus(StatusRuntimeException exception) {
        Status status = exception.getStatus();
        com.google.rpc.Status details = StatusProto.fromThrowable(exception);
        if (details != null) {
            ProblemType type = null;
            String field = null;
            for (Any detail : details.getDetailsList()) {
                try {
                    if (detail.is(ErrorInfo.class)) {
                        ErrorInfo info = detail.unpack(ErrorInfo.class);
                        if (DOMAIN.equals(info.getDomain())) {
                            type = ProblemType.fromSlug(info.getReason()).orElse(null);
                        }
                    } else if (detail.is(BadRequest.class)) {
                        BadRequest badRequest = detail.unpack(BadRequest.class);
                        if (badRequest.getFieldViolationsCount() > 0) {
                            field = badRequest.getFieldViolations(0).getField();
                        }
                    }
                } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                    // A malformed detail is ignored; the status code still says what happened.
                }
            }
            if (type != null) {
                return new ProblemException(type, details.getMessage(), field);
            }
        }
        ProblemType type = ProblemType.forGrpcCode(status.getCode());
        return new ProblemException(type, genericDetail(status.getCode()));
    }

    private static String genericDetail(Status.Code code) {
        return switch (code) {
            case UNAVAILABLE -> "a Loupe service is unavailable; try again shortly";
            case DEADLINE_EXCEEDED -> "a Loupe service did not answer in time";
            case UNAUTHENTICATED -> "the bearer token was rejected";
            case PERMISSION_DENIED -> "your roles do not allow this";
            case NOT_FOUND -> "not found";
            case UNIMPLEMENTED -> "this operation is not implemented yet";
            default -> "the request could not be completed";
        };
    }
}
