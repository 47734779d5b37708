package dev.loupe.support.grpc;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.quarkus.grpc.GlobalInterceptor;
import io.quarkus.runtime.StartupEvent;
import org.jboss.logging.Logger;

import dev.loupe.support.security.Caller;
import dev.loupe.support.security.Capability;
import dev.loupe.support.security.InvalidTokenException;
import dev.loupe.support.security.TokenVerifier;

/**
 * Every service's front door for gRPC: verifies the caller's bearer token itself (a service never trusts the
 * network or the gateway), checks the RPC's capability, and puts the {@link Caller} into the gRPC context.
 * Answers {@code UNAUTHENTICATED} for a missing or invalid token and {@code PERMISSION_DENIED} for a caller
 * whose roles do not grant the RPC's capability.
 */
@ApplicationScoped
@GlobalInterceptor
public class AuthenticationInterceptor implements ServerInterceptor {
    private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
    private static final Logger LOG = Logger.getLogger(AuthenticationInterceptor.class);

    private final TokenVerifier verifier;
    private final RpcAuthorizations authorizations;

    public AuthenticationInterceptor(TokenVerifier verifier, RpcAuthorizations authorizations) {
        this.verifier = verifier;
        this.authorizations = authorizations;
    }

    void onStart(@Observes StartupEvent event) {
        // Off the start-up path: Keycloak may come up after this service.
        CompletableFuture.runAsync(verifier::prefetchKeys);
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getFullMethodName();
        if (RpcAuthorizations.isPublic(method)) {
            return next.startCall(call, headers);
        }
        Caller caller;
        try {
            caller = verifier.verify(headers.get(GrpcHeaders.AUTHORIZATION));
        } catch (InvalidTokenException e) {
            LOG.debugf(e, "Rejected call to %s: %s", method, e.getMessage());
            return reject(call, Status.UNAUTHENTICATED.withDescription(e.getMessage()));
        }
        Optional<Capability> capability = authorizations.capabilityOf(method);
        if (capability.isEmpty() || !caller.may(capability.get())) {
            return reject(call, Status.PERMISSION_DENIED.withDescription("caller may not call " + method));
        }
        Context context = Context.current().withValue(Caller.CONTEXT_KEY, caller.withRequestId(requestId(headers)));
        return Contexts.interceptCall(context, call, headers, next);
    }

    /** The caller's request id if it is a plain token that can go into audit records as it is. */
    private static String requestId(Metadata headers) {
        String id = headers.get(GrpcHeaders.REQUEST_ID);
        return id != null && REQUEST_ID.matcher(id).matches() ? id : "";
    }

    private static <Q, R> ServerCall.Listener<Q> reject(ServerCall<Q, R> call, Status status) {
        call.close(status, new Metadata());
        return new ServerCall.Listener<>() {
        };
    }
}
