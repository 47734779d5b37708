package dev.loupe.serving.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import dev.loupe.support.net.RemoteImageSettings;

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

    /** Fully fine-tuned versions, which bring their own weights. */
    FullWeights fullWeights();

    interface FullWeights {
        /**
         * A RAM-backed folder (tmpfs) where a fully fine-tuned version's decrypted files are put while they are read,
         * owner-only, deleted at once: decrypted weights never reach a disk. Without it (e.g. no {@code /dev/shm}),
         * such versions are refused. The archive of a version is held in memory: up to 2 GB.
         */
        @WithDefault("/dev/shm/loupe-serving")
        Optional<Path> scratchDir();
    }

    /** Batch inference. */
    Batches batches();

    interface Batches {
        /**
         * Examples of a batch answered at once (and stored together): they join the deployment's continuous batch
         * beside live requests, which keep their places.
         */
        @WithDefault("8")
        int rowsInFlight();

        /** Tokens per answer when a batch names none. */
        @WithDefault("256")
        int defaultMaxTokens();

        /** How often the runner looks for batches to run or resume (a new batch wakes it at once). */
        @WithDefault("5S")
        Duration pollInterval();
    }

    /** Scheduled evaluations of deployments. */
    Evaluations evaluations();

    interface Evaluations {
        /** Tokens per answer. */
        @WithDefault("256")
        int maxTokens();

        /**
         * A score (exact match, field F1, JSON validity, grounded accuracy, mean IoU) below its training-time value by
         * more than this is a regression.
         */
        @WithDefault("0.05")
        double regressionTolerance();
    }

    /** Drift monitoring: live traffic against the training data's reference. */
    Drift drift();

    interface Drift {
        /** Values each feature's sliding window holds: pictures for picture features, answers for answer ones. */
        @WithDefault("500")
        int windowSize();

        /** Values a window needs before it is compared: fewer give noisy figures and false alarms. */
        @WithDefault("200")
        int minSamples();

        /** A distribution drifts at or above this population stability index (0.25 is the usual "shifted"). */
        @WithDefault("0.25")
        double psiThreshold();

        /** A rate (refusals, answers that should be JSON and are not) drifts when it rises this much. */
        @WithDefault("0.2")
        double rateThreshold();

        /** How often windows are compared and drift events raised or cleared. */
        @WithDefault("30S")
        Duration checkInterval();

        /**
         * Answers waiting to be measured (their pictures' vision features take a pass of the model); beyond it
         * answers go unmeasured, so that under load drift watches a sample and never slows generation down.
         */
        @WithDefault("64")
        int queue();
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

        /** Pictures sent as {@code https://} URLs (the allow-list is empty by default: only data: URLs). */
        RemoteImageSettings remote();
    }
}
