package dev.loupe.support.config;

import java.time.Duration;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * The Keycloak client a service authenticates as when it acts on its own behalf (delivering audit events,
 * reading a dataset for a training job), through the client-credentials grant.
 */
@ConfigMapping(prefix = "loupe.service-account")
public interface ServiceAccountConfig {

    /** The service's confidential client, e.g. {@code loupe-dataset-service}; unset if it never acts alone. */
    Optional<String> clientId();

    /** Its secret; generated into .local/secrets.env for local runs, from a Kubernetes Secret in a cluster. */
    Optional<String> clientSecret();

    /** Token endpoint; by default Keycloak's under {@code loupe.auth.issuer}. */
    Optional<String> tokenUrl();

    /** Connect and read timeout of a token request. */
    @WithDefault("5S")
    Duration timeout();
}
