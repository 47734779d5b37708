package dev.loupe.gateway.grpc;

import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.RequestScoped;
import jakarta.ws.rs.core.HttpHeaders;

import io.grpc.stub.AbstractStub;
import io.quarkus.oidc.AccessTokenCredential;
import io.quarkus.security.identity.SecurityIdentity;

import dev.loupe.gateway.config.GatewayConfig;
import dev.loupe.support.grpc.BearerCallCredentials;

/**
 * Prepares a gRPC stub for a call made on behalf of the current REST request: the caller's own bearer token
 * (each service verifies it again) and the request id travel as metadata, under the configured deadline.
 */
@RequestScoped
public class DownstreamCalls {
    private final SecurityIdentity identity;
    private final HttpHeaders headers;
    private final GatewayConfig config;

    public DownstreamCalls(SecurityIdentity identity, HttpHeaders headers, GatewayConfig config) {
        this.identity = identity;
        this.headers = headers;
        this.config = config;
    }

    public <S extends AbstractStub<S>> S onBehalfOfCaller(S stub) {
        AccessTokenCredential token = identity.getCredential(AccessTokenCredential.class);
        if (token == null) {
            throw new IllegalStateException("a downstream call outside an authenticated request");
        }
        return stub.withCallCredentials(new BearerCallCredentials(token.getToken(),
                headers.getHeaderString("X-Request-Id")))
                .withDeadlineAfter(config.downstream().deadline().toMillis(), TimeUnit.MILLISECONDS);
    }
}
