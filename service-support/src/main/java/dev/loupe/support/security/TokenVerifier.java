package dev.loupe.support.security;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;
import org.jose4j.http.Get;
import org.jose4j.jwa.AlgorithmConstraints;
import org.jose4j.jwa.AlgorithmConstraints.ConstraintType;
import org.jose4j.jwk.HttpsJwks;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.jwt.MalformedClaimException;
import org.jose4j.jwt.consumer.InvalidJwtException;
import org.jose4j.jwt.consumer.JwtConsumer;
import org.jose4j.jwt.consumer.JwtConsumerBuilder;
import org.jose4j.keys.resolvers.HttpsJwksVerificationKeyResolver;

import dev.loupe.support.config.AuthConfig;

/**
 * Verifies Keycloak access tokens: signature by one of the realm's published keys (asymmetric algorithms
 * only, so {@code alg: none} and HMAC tricks fail), issuer, audience, expiry, and that it is an access token
 * rather than an ID or refresh token.
 */
@ApplicationScoped
public class TokenVerifier {
    private static final Logger LOG = Logger.getLogger(TokenVerifier.class);

    private final JwtConsumer consumer;
    private final HttpsJwks jwks;

    @Inject
    public TokenVerifier(AuthConfig config) {
        jwks = new HttpsJwks(config.effectiveJwksUrl());
        Get get = new Get();
        int timeoutMillis = (int) config.jwksTimeout().toMillis();
        get.setConnectTimeout(timeoutMillis);
        get.setReadTimeout(timeoutMillis);
        jwks.setSimpleHttpGet(get);
        // Keys are cached; an unknown key id triggers a refresh, so key rotation needs no restart.
        jwks.setDefaultCacheDuration(300);
        consumer = new JwtConsumerBuilder()
                .setVerificationKeyResolver(new HttpsJwksVerificationKeyResolver(jwks))
                .setJwsAlgorithmConstraints(new AlgorithmConstraints(ConstraintType.PERMIT,
                        AlgorithmIdentifiers.RSA_USING_SHA256, AlgorithmIdentifiers.RSA_USING_SHA384,
                        AlgorithmIdentifiers.RSA_USING_SHA512, AlgorithmIdentifiers.RSA_PSS_USING_SHA256,
                        AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256))
                .setExpectedIssuer(config.issuer())
                .setExpectedAudience(config.audience())
                .setRequireExpirationTime()
                .setRequireSubject()
                .setAllowedClockSkewInSeconds((int) config.clockSkew().toSeconds())
                .build();
    }

    /** Fetches the signing keys ahead of the first call; failures are retried on first use. */
    public void prefetchKeys() {
        try {
            jwks.refresh();
        } catch (Exception e) {
            LOG.warnf("Signing keys not reachable yet (%s); retrying on the first call", e.getMessage());
        }
    }

    /**
     * Verifies an {@code Authorization} header value.
     *
     * @throws InvalidTokenException naming what is wrong, in words safe to send back
     */
    public Caller verify(String authorizationHeader) throws InvalidTokenException {
        if (authorizationHeader == null || authorizationHeader.isBlank()) {
            throw new InvalidTokenException("no bearer token");
        }
        if (!authorizationHeader.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new InvalidTokenException("authorization is not a bearer token");
        }
        String token = authorizationHeader.substring(7).trim();
        JwtClaims claims;
        try {
            claims = consumer.processToClaims(token);
        } catch (InvalidJwtException e) {
            if (e.hasExpired()) {
                throw new InvalidTokenException("token expired", e);
            }
            throw new InvalidTokenException("token rejected", e);
        }
        try {
            if (!"Bearer".equals(claims.getStringClaimValue("typ"))) {
                throw new InvalidTokenException("not an access token");
            }
            return new Caller(claims.getSubject(),
                    Optional.ofNullable(claims.getStringClaimValue("preferred_username")).orElse(claims.getSubject()),
                    Optional.ofNullable(claims.getStringClaimValue("tenant")).filter(t -> !t.isBlank()),
                    realmRoles(claims),
                    Optional.ofNullable(claims.getStringClaimValue("azp")).orElse(""),
                    token, "");
        } catch (MalformedClaimException e) {
            throw new InvalidTokenException("token has malformed claims", e);
        }
    }

    private static Set<String> realmRoles(JwtClaims claims) {
        Object realmAccess = claims.getClaimValue("realm_access");
        if (realmAccess instanceof Map<?, ?> map && map.get("roles") instanceof List<?> list) {
            Set<String> roles = new HashSet<>();
            for (Object role : list) {
                roles.add(String.valueOf(role));
            }
            return Set.copyOf(roles);
        }
        return Set.of();
    }
}
