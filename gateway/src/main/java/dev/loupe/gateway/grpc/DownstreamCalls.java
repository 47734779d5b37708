package dev.loupe.gateway.grpc;

import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.RequestScoped;
import jakarta.ws.rs.core.HttpHeaders;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.AbstractStub;
import io.smallrye.mutiny.Uni;

import dev.loupe.gateway.config.GatewayConfig;
import dev.loupe.gateway.rest.RequestIdFilter;
import dev.loupe.support.grpc.BearerCallCredentials;

/**
 * Prepares a gRPC stub for a call made on behalf of the current REST request: the caller's own bearer token
 * (which {@code AuthorizationFilter} verified before the resource ran, and each service verifies again) and
 * the request id travel as metadata, under the configured deadline.
 */
@RequestScoped
public class DownstreamCalls {
    private static final String BEARER = "Bearer ";

    private final HttpHeaders headers;
    private final GatewayConfig config;

    public DownstreamCalls(HttpHeaders headers, GatewayConfig config) {
        this.headers = headers;
        this.config = config;
    }

    /**
     * Retries a call that changes nothing when the service was unreachable ({@code UNAVAILABLE}), with
     * exponential backoff, within the stub's deadline. Calls that change state are not retried here: their
     * retries belong to the client, with an Idempotency-Key.
     */
    public <T> Uni<T> retryingRead(Uni<T> read) {
        GatewayConfig.Downstream downstream = config.downstream();
        return read.onFailure(DownstreamCalls::unavailable)
                .retry()
                .withBackOff(downstream.readRetryBackoff(), downstream.readRetryBackoff().multipliedBy(8))
                .atMost(downstream.readRetries());
    }

    private static boolean unavailable(Throwable failure) {
        return failure instanceof StatusRuntimeException status
                && status.getStatus().getCode() == Status.Code.UNAVAILABLE;
    }

    public <S extends AbstractStub<S>> S onBehalfOfCaller(S stub) {
        String authorization = headers.getHeaderString(HttpHeaders.AUTHORIZATION);
        if (authorization == null || !authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            throw new IllegalStateException("a downstream call outside an authenticated request");
        }
        String token = authorization.substring(BEARER.length()).trim();
        return stub
                .withCallCredentials(new BearerCallCredentials(token, headers.getHeaderString(RequestIdFilter.HEADER)))
                .withDeadlineAfter(config.downstream().deadline().toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Like {@link #onBehalfOfCaller}, under the deadline of an import, which streams the whole upload and waits for
     * its validation.
     */
    public <S extends AbstractStub<S>> S importOnBehalfOfCaller(S stub) {
        return onBehalfOfCaller(stub).withDeadlineAfter(config.imports().deadline().toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Like {@link #onBehalfOfCaller}, under the deadline of a live event stream, which stays open while the job
     * runs.
     */
    public <S extends AbstractStub<S>> S eventStreamOnBehalfOfCaller(S stub) {
        return onBehalfOfCaller(stub).withDeadlineAfter(config.downstream().eventStreamDeadline().toMillis(),
                TimeUnit.MILLISECONDS);
    }

    /** Like {@link #onBehalfOfCaller}, under the deadline of a completion. */
    public <S extends AbstractStub<S>> S inferenceOnBehalfOfCaller(S stub) {
        return onBehalfOfCaller(stub).withDeadlineAfter(config.inference().deadline().toMillis(),
                TimeUnit.MILLISECONDS);
    }
}
