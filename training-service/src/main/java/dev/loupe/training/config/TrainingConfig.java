package dev.loupe.training.config;

import java.nio.file.Path;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** The training-service's settings. */
@ConfigMapping(prefix = "loupe.training")
public interface TrainingConfig {

    /**
     * The platform's model store: the folder base model checkpoints are registered from. A registration's
     * {@code storage_uri} must name a folder inside it (also after following symbolic links); a relative
     * {@code storage_uri} is resolved against it. Created at start when missing.
     */
    @WithDefault(".local/models")
    Path modelsRoot();

    /** Loupe's own tiny base model, registered at start. */
    TinyBase tinyBase();

    /** List pagination. */
    Pagination pagination();

    interface TinyBase {
        /**
         * Its checkpoint folder (the repository's {@code models/loupe-tiny-base}; relative to the working
         * directory). Registered at start unless a base model with {@link #id()} exists; when the folder is
         * missing or not a complete checkpoint, start-up logs a warning and goes on without it. It need not lie
         * inside the models root: this setting is the operator's, not a caller's.
         */
        @WithDefault("models/loupe-tiny-base")
        Path path();

        /** The base model id it is registered under. */
        @WithDefault("loupe-tiny-base")
        String id();

        /** Its display name. */
        @WithDefault("Loupe tiny base")
        String displayName();
    }

    interface Pagination {
        /** Page size when a request gives none. */
        @WithDefault("20")
        int defaultLimit();

        /** Largest page size a request may ask for. */
        @WithDefault("100")
        int maxLimit();
    }
}
