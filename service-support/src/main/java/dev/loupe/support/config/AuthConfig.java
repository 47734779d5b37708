package dev.loupe.support.config;

import java.time.Duration;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** How every service verifies the bearer tokens it receives. */
@ConfigMapping(prefix = "loupe.auth")
public interface AuthConfig {

    /** Issuer URL of Loupe's Keycloak realm; tokens from any other issuer are rejected. */
    String issuer();

    /** Audience every accepted token must name (the realm maps it into Loupe's clients' tokens). */
    @WithDefault("loupe")
    String audience();

    /** Where the realm publishes its signing keys; by default Keycloak's certs endpoint under the issuer. */
    Optional<String> jwksUrl();

    /** Clock difference tolerated when checking expiry and issue time. */
    @WithDefault("10S")
    Duration clockSkew();

    /** Connect and read timeout for fetching the signing keys. */
    @WithDefault("3S")
    Duration jwksTimeout();

    default String effectiveJwksUrl() {
        return jwksUrl().orElse(issuer() + "/protocol/openid-connect/certs");
    }
}
