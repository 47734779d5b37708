package dev.loupe.gateway.grpc;

import dev.loupe.gateway.config.GatewayConfig;

/**
 * Limits on the images archive of an import. {@link ImportChunks} counts sizes while it reads the archive;
 * the sizes its headers declare only serve to refuse an archive early.
 *
 * @param maxImageBytes largest file, uncompressed
 * @param maxEntries most entries, folders included
 * @param maxTotalBytes largest total of all files, uncompressed
 */
public record ImageArchiveLimits(long maxImageBytes, int maxEntries, long maxTotalBytes) {
    /**
     * Largest factor by which a file of more than {@link #RATIO_CHECKED_ABOVE} bytes may expand: more is a zip
     * bomb. Images are compressed already; a real one expands by little.
     */
    public static final int MAX_COMPRESSION_RATIO = 100;

    /** Files up to this size are not held to the ratio: tiny files compress well for honest reasons. */
    public static final long RATIO_CHECKED_ABOVE = 1024 * 1024;

    public static ImageArchiveLimits of(GatewayConfig.Imports config) {
        return new ImageArchiveLimits(config.maxImageSize().asLongValue(), config.maxArchiveEntries(),
                config.maxArchiveSize().asLongValue());
    }
}
