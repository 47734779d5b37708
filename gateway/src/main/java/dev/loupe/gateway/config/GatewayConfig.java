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
        /** Deadline of every unary gRPC call a REST request makes. */
        @WithDefault("10S")
        Duration deadline();
    }
}
