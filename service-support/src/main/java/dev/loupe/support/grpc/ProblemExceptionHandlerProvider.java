package dev.loupe.support.grpc;

import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.quarkus.grpc.ExceptionHandler;
import io.quarkus.grpc.ExceptionHandlerProvider;
import org.jboss.logging.Logger;

import dev.loupe.support.error.GrpcProblems;
import dev.loupe.support.error.ProblemException;

/**
 * The gRPC half of the error family: a {@link ProblemException} becomes its status with Loupe's details;
 * any other exception becomes {@code INTERNAL} with an error id, its message and stack trace staying in this
 * process's log.
 */
@ApplicationScoped
public class ProblemExceptionHandlerProvider implements ExceptionHandlerProvider {
    private static final Logger LOG = Logger.getLogger(ProblemExceptionHandlerProvider.class);

    @Override
    public <Q, R> ExceptionHandler<Q, R> createHandler(ServerCall.Listener<Q> listener, ServerCall<Q, R> call,
            Metadata metadata) {
        return new ExceptionHandler<>(listener, call, metadata) {
            @Override
            protected void handleException(Throwable exception, ServerCall<Q, R> serverCall, Metadata metadata) {
                StatusRuntimeException status = toStatus(exception);
                Metadata trailers = status.getTrailers() != null ? status.getTrailers() : new Metadata();
                serverCall.close(status.getStatus(), trailers);
            }
        };
    }

    @Override
    public Throwable transform(Throwable exception) {
        return toStatus(exception);
    }

    static StatusRuntimeException toStatus(Throwable exception) {
        if (exception instanceof ProblemException problem) {
            return GrpcProblems.toStatus(problem);
        }
        if (exception instanceof StatusRuntimeException status) {
            return status;
        }
        if (exception instanceof StatusException status) {
            return new StatusRuntimeException(status.getStatus(), status.getTrailers());
        }
        String errorId = UUID.randomUUID().toString();
        LOG.errorf(exception, "Unexpected error %s", errorId);
        return Status.INTERNAL.withDescription("unexpected error; quote error id " + errorId + " to your operator")
                .asRuntimeException();
    }
}
