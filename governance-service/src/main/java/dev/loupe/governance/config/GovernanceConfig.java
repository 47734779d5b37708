package dev.loupe.governance.config;

import java.nio.file.Path;
import java.time.Duration;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** The governance-service's settings. */
@ConfigMapping(prefix = "loupe.governance")
public interface GovernanceConfig {

    /** Signed checkpoints of the audit chains. */
    Checkpoints checkpoints();

    interface Checkpoints {
        /** A chain is checkpointed as soon as this many entries were appended since its last checkpoint. */
        @WithDefault("1000")
        int everyEvents();

        /**
         * And at least this often while it has entries no checkpoint covers: the longest time a rewrite of the
         * newest entries by someone with database access but without the signing key goes unnoticed.
         */
        @WithDefault("60S")
        Duration interval();

        /**
         * Folder where every checkpoint is also written, one append-only file per chain. Keep it where the
         * database's administrators cannot write (another volume, WORM storage): a checkpoint that only lives
         * in the database can be deleted with the entries it vouches for.
         */
        @WithDefault(".local/audit-checkpoints")
        Path dir();

        /** Name of the KMS signing key (Ed25519) that signs checkpoints. */
        @WithDefault("audit-checkpoints")
        String keyName();
    }
}
