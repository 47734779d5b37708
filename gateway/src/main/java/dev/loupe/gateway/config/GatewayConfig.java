package dev.loupe.gateway.config;

import java.time.Duration;

import io.quarkus.runtime.configuration.MemorySize;
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

        /**
         * Longest life of a live event stream (a job's events as {@code text/event-stream}). The stream then ends
         * and the client reconnects with {@code Last-Event-ID}, so that its token is checked again: a stream does
         * not outlive the token that opened it by much.
         */
        @WithDefault("15M")
        Duration eventStreamDeadline();
    }

    /** Chat completions, answered by the serving-service. */
    Inference inference();

    interface Inference {
        /**
         * Deadline of one completion, streamed or not: waiting for a batch and generating. Beyond it the request ends
         * with 504.
         */
        @WithDefault("3M")
        Duration deadline();
    }

    /** Dataset imports: a records file and a zip of its images, streamed to the dataset-service. */
    Imports imports();

    interface Imports {
        /**
         * Deadline of one import call: the whole upload streamed to the dataset-service and its validation. The
         * request body itself is limited by {@code quarkus.http.limits.max-body-size}.
         */
        @WithDefault("1H")
        Duration deadline();

        /** Largest image file in the images archive, counted while it is read (its header is not trusted). */
        @WithDefault("10M")
        MemorySize maxImageSize();

        /** Most entries (files and folders) the images archive may hold. */
        @WithDefault("100000")
        int maxArchiveEntries();

        /** Largest total of the archive's files once uncompressed, counted while they are read. */
        @WithDefault("8G")
        MemorySize maxArchiveSize();
    }

    /** The auth.denied audit events of refused requests. */
    DeniedEvents deniedEvents();

    interface DeniedEvents {
        /** How often queued events are sent to the governance-service. */
        @WithDefault("1S")
        Duration flushInterval();
    }
}
