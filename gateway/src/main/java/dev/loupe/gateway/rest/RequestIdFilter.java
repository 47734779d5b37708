package dev.loupe.gateway.rest;

import java.util.UUID;
import java.util.regex.Pattern;

import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerResponseContext;

import org.jboss.resteasy.reactive.server.ServerRequestFilter;
import org.jboss.resteasy.reactive.server.ServerResponseFilter;

/**
 * Gives every request an {@code X-Request-Id}: the caller's own when it is a plain token, a new one otherwise
 * (so that nothing a caller sends reaches logs unchecked). The id is forwarded to the services, appears in
 * problem bodies and is returned on every response.
 */
public class RequestIdFilter {
    public static final String HEADER = "X-Request-Id";
    private static final Pattern ACCEPTED = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    @ServerRequestFilter(preMatching = true)
    public void assignRequestId(ContainerRequestContext request) {
        String given = request.getHeaderString(HEADER);
        if (given == null || !ACCEPTED.matcher(given).matches()) {
            request.getHeaders().putSingle(HEADER, UUID.randomUUID().toString());
        }
    }

    @ServerResponseFilter
    public void returnRequestId(ContainerRequestContext request, ContainerResponseContext response) {
        response.getHeaders().putSingle(HEADER, request.getHeaderString(HEADER));
    }
}
