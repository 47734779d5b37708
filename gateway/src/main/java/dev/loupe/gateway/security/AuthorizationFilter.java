package dev.loupe.gateway.security;

import java.lang.reflect.Method;

import jakarta.ws.rs.container.ResourceInfo;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;

import io.quarkus.security.AuthenticationFailedException;
import io.quarkus.security.identity.CurrentIdentityAssociation;
import io.quarkus.security.identity.SecurityIdentity;
import io.smallrye.mutiny.Uni;
import io.vertx.core.http.HttpServerRequest;
import org.eclipse.microprofile.jwt.JsonWebToken;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

import dev.loupe.support.error.ProblemType;
import dev.loupe.support.rest.ProblemMappers;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Capability;

/**
 * Enforces the role matrix on every REST route: the route's {@link Authorized} capability against the roles
 * and tenant of the caller's verified token. A route without {@link Authorized} is denied to everyone. Answers
 * 401 for a missing or rejected token and 403 for roles that do not grant the capability, both as
 * problem+json.
 */
public class AuthorizationFilter {
    private static final Logger LOG = Logger.getLogger(AuthorizationFilter.class);

    private final CurrentIdentityAssociation identities;
    private final DeniedRequests denied;

    public AuthorizationFilter(CurrentIdentityAssociation identities, DeniedRequests denied) {
        this.identities = identities;
        this.denied = denied;
    }

    @ServerRequestFilter
    public Uni<Response> authorize(ResourceInfo resource, HttpHeaders headers, HttpServerRequest request) {
        Method method = resource.getResourceMethod();
        Authorized authorized = method == null ? null : method.getAnnotation(Authorized.class);
        if (authorized == null) {
            LOG.errorf("Denied %s: the route has no @Authorized capability", method);
            return Uni.createFrom().item(deny(null, ProblemType.FORBIDDEN, "this route has no entry in the role matrix",
                    headers, request));
        }
        Capability capability = authorized.value();
        return identities.getDeferredIdentity()
                .map(identity -> decide(identity, capability, headers, request))
                .onFailure(AuthenticationFailedException.class)
                .recoverWithItem(() -> deny(null, ProblemType.UNAUTHENTICATED, "the bearer token was rejected",
                        headers, request));
    }

    private Response decide(SecurityIdentity identity, Capability capability, HttpHeaders headers,
            HttpServerRequest request) {
        if (identity.isAnonymous()) {
            return deny(null, ProblemType.UNAUTHENTICATED, "a bearer token is required", headers, request);
        }
        if (!capability.allows(identity.getRoles(), tenantOf(identity) != null)) {
            return deny(identity, ProblemType.FORBIDDEN, "your roles do not allow this", headers, request);
        }
        return null;
    }

    /** The token's {@code tenant} claim, or null. */
    public static String tenantOf(SecurityIdentity identity) {
        if (identity.getPrincipal() instanceof JsonWebToken token) {
            Object tenant = token.getClaim("tenant");
            return tenant == null || tenant.toString().isBlank() ? null : tenant.toString();
        }
        return null;
    }

    /** Answers with the problem and records the refusal as an {@code auth.denied} audit event. */
    private Response deny(SecurityIdentity identity, ProblemType type, String detail, HttpHeaders headers,
            HttpServerRequest request) {
        denied.record(identity, type.httpStatus(), detail, request.method().name(), request.path(),
                request.remoteAddress() == null ? null : request.remoteAddress().hostAddress(),
                headers.getHeaderString(dev.loupe.gateway.rest.RequestIdFilter.HEADER));
        return ProblemMappers.respond(type, detail, null, headers).toResponse();
    }
}
