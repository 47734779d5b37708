package dev.loupe.dataset.config;

import java.time.Duration;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** The dataset-service's settings. */
@ConfigMapping(prefix = "loupe.dataset")
public interface DatasetConfig {

    /** List pagination. */
    Pagination pagination();

    /** Idempotency-Key handling of creating requests. */
    Idempotency idempotency();

    interface Pagination {
        /** Page size when a request gives none. */
        @WithDefault("20")
        int defaultLimit();

        /** Largest page size a request may ask for. */
        @WithDefault("100")
        int maxLimit();
    }

    interface Idempotency {
        /** How long a key is remembered; a key older than this starts a new request. */
        @WithDefault("24H")
        Duration retention();
    }
}
