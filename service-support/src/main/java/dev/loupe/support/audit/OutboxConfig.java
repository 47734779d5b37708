package dev.loupe.support.audit;

import java.time.Duration;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** How the outbox relay delivers a service's audit events to the governance-service. */
@ConfigMapping(prefix = "loupe.audit.outbox")
public interface OutboxConfig {

    /**
     * Build-time switch: services with an outbox table set it to true, which brings in the relay, its metrics
     * and its readiness detail.
     */
    @WithDefault("false")
    boolean enabled();

    /** How often the relay looks for events; after a full batch it goes on at once. */
    @WithDefault("1S")
    Duration pollInterval();

    /** Events per AppendEvents call (the governance-service takes at most 1,000). */
    @WithDefault("200")
    int batchSize();

    /** Deadline of one AppendEvents call. */
    @WithDefault("10S")
    Duration deadline();
}
