package dev.loupe.serving.config;

import java.time.Duration;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** The serving-service's settings. */
@ConfigMapping(prefix = "loupe.serving")
public interface ServingConfig {
    /** Limits of a deployment's options. */
    Deployments deployments();

    /** Limits of inference requests. */
    Requests requests();

    /** How batches form. */
    Batching batching();

    interface Batching {
        /**
         * How long a batch that is not full waits for more of its deployment's requests before it starts: requests
         * sent together arrive a few milliseconds apart.
         */
        @WithDefault("10ms")
        Duration maxWait();

        /**
         * How long a request waits for others to join a running batch with it, unless enough of them wait already:
         * reading joining prompts is a pass of its own, so requests join together.
         */
        @WithDefault("50ms")
        Duration joinWait();
    }

    /** The response cache of deterministic requests (deployments with cache_enabled). */
    Cache cache();

    interface Cache {
        /** How long an answer is given again. */
        @WithDefault("10M")
        Duration ttl();

        /** Answers kept at most, over all deployments; the least recently used go first. */
        @WithDefault("10000")
        int maxEntries();
    }

    interface Deployments {
        /** Batch size when a deployment names none. */
        @WithDefault("8")
        int defaultMaxBatchSize();

        /** Requests admitted at once (generating or waiting) when a deployment names none. */
        @WithDefault("32")
        int defaultMaxConcurrentSequences();

        /** How often the states of deployed model versions are checked (a quarantined one is undeployed). */
        @WithDefault("15S")
        Duration stateCheckInterval();
    }

    interface Requests {
        /** Pictures in one request. */
        @WithDefault("8")
        int maxImages();

        /** Bytes of one decoded picture. */
        @WithDefault("10000000")
        int maxImageBytes();

        /** How long a request may wait for its turn and generate before it is answered DEADLINE_EXCEEDED. */
        @WithDefault("120S")
        Duration timeout();
    }
}
