package dev.loupe.support.security;

import java.util.Optional;
import java.util.Set;

import io.grpc.Context;

/**
 * Who is calling, taken from a verified token and nothing else.
 *
 * @param userId the token subject
 * @param username the {@code preferred_username}, for people reading audit records
 * @param tenant the {@code tenant} claim; empty for platform operators and services acting on their own
 * @param roles the realm roles
 * @param clientId the {@code azp} claim: the client the token was issued to
 * @param bearerToken the raw token, forwarded when this service calls another on the caller's behalf
 * @param requestId the request id the call carried (the gateway's X-Request-Id), empty if none; for audit events
 */
public record Caller(String userId, String username, Optional<String> tenant, Set<String> roles, String clientId,
        String bearerToken, String requestId) {

    /** The same caller, for a call that carried this request id. */
    public Caller withRequestId(String id) {
        return new Caller(userId, username, tenant, roles, clientId, bearerToken, id);
    }

    /** The gRPC context key under which the authentication interceptor stores the caller. */
    public static final Context.Key<Caller> CONTEXT_KEY = Context.key("loupe-caller");

    /**
     * The caller of the current gRPC call. Read it at the start of a service method: the gRPC context does not
     * follow work that continues on other threads.
     */
    public static Caller current() {
        Caller caller = CONTEXT_KEY.get();
        if (caller == null) {
            throw new IllegalStateException("no authenticated caller on this thread");
        }
        return caller;
    }

    /** The caller's tenant; a tenant-scoped capability has already checked that there is one. */
    public String requireTenant() {
        return tenant.orElseThrow(() -> new IllegalStateException("caller has no tenant"));
    }

    public boolean may(Capability capability) {
        return capability.allows(roles, tenant.isPresent());
    }
}
