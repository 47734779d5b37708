package dev.loupe.support.kms;

import java.nio.file.Path;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Which KMS holds Loupe's keys, and how to reach it. */
@ConfigMapping(prefix = "loupe.kms")
public interface KmsConfig {

    /**
     * {@code local}: keys in files on this machine (the embedded default); {@code vault}: HashiCorp Vault transit,
     * reached with the quarkus-vault extension's settings ({@code quarkus.vault.url}, {@code quarkus.vault.authentication.*}).
     */
    @WithDefault("local")
    Provider provider();

    /** Settings of the {@code local} provider. */
    Local local();

    enum Provider {
        local, vault
    }

    interface Local {
        /**
         * Folder of the key files, created with owner-only permissions on first use. Back it up: without it no
         * new signature can be made with the old keys, and data encrypted under them cannot be read.
         */
        @WithDefault(".local/kms")
        Path keyDir();
    }
}
