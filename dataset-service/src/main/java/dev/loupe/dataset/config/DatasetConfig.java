package dev.loupe.dataset.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import dev.loupe.support.net.RemoteImageSettings;

/** The dataset-service's settings. */
@ConfigMapping(prefix = "loupe.dataset")
public interface DatasetConfig {

    /** List pagination. */
    Pagination pagination();

    /** Idempotency-Key handling of creating requests. */
    Idempotency idempotency();

    /** Imports: limits and the spool of uploads. */
    Imports imports();

    /** Where encrypted images are stored. */
    Blobs blobs();

    /**
     * The Keycloak clients whose service accounts may read decrypted examples: the training-service (fine-tuning
     * jobs), the trainer workers on other nodes (the Kubernetes executor's jobs) and the serving-service (batches
     * and scheduled evaluations). Other Loupe services hold the same service role, but have no business with image
     * bytes.
     */
    @WithDefault("loupe-training-service,loupe-trainer-worker,loupe-serving-service")
    java.util.List<String> exampleReaderClientIds();

    /** The retention job (read by its {@code @Scheduled} expression). */
    Retention retention();

    interface Retention {
        /** How often expired datasets are deleted and unfinished shreds and key rotations completed. */
        @WithDefault("1H")
        Duration interval();

        /** How long after start-up the first run comes. */
        @WithDefault("30S")
        Duration firstRun();
    }

    interface Imports {
        /** The largest image file or inline image, in bytes. */
        @WithDefault("10485760")
        int maxImageBytes();

        /** The most image files one upload may hold. */
        @WithDefault("100000")
        int maxImageFiles();

        /**
         * How many imports run at once in this service; one more is refused (429, try again later) rather than
         * queued, since each running import holds a worker thread and a spool while its upload arrives.
         */
        @WithDefault("8")
        int maxConcurrent();

        /** The model's maximum sequence length, which each record's estimated tokens must fit. */
        @WithDefault("4096")
        int maxSequenceTokens();

        /** Fetching remote {@code https://} images (the allow-list is empty by default: all refused). */
        RemoteImageSettings remote();

        /** Folder of the encrypted temporary files of uploads while their import runs. */
        @WithDefault(".local/dataset-spool")
        Path spoolDir();
    }

    interface Blobs {
        /** Folder of the filesystem blob store (owner-only). */
        @WithDefault(".local/dataset-blobs")
        Path dir();

        /**
         * How old a blob no record names must be before the sweeper removes it: longer than an image takes from
         * its blob write to its row's commit.
         */
        @WithDefault("1H")
        Duration sweepGrace();
    }

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
