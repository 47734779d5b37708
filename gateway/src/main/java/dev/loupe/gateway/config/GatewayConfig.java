package dev.loupe.gateway.config;

import java.time.Duration;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** The gateway's settings. */
@ConfigMapping(prefix = "loupe.gateway")
public interface GatewayConfig {

    /** Calls to the services behind the gateway. */
    Downstream downstream();

    interface Downstream {
        /** Deadline of every unary gRPC call a REST request makes, retries included. */
        @WithDefault("10S")
        Duration deadline();

        /** How often a read (a call that changes nothing) is retried when its service is unavailable. */
        @WithDefault("2")
        int readRetries();

        /** Wait before the first retry of a read; each further retry waits about twice as long. */
        @WithDefault("100ms")
        Duration readRetryBackoff();
    }

    /** The auth.denied audit events of refused requests. */
    DeniedEvents deniedEvents();

    interface DeniedEvents {
        /** How often queued events are sent to the governance-service. */
        @WithDefault("1S")
        Duration flushInterval();
    }
}
