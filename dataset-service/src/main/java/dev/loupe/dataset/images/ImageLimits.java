package dev.loupe.dataset.images;

/**
 * The limits one image must fit. {@link #defaults()} gives the defaults; {@link #builder()} changes some of them.
 * Every limit is checked before a pixel is decoded, so together they bound the memory of one inspection: the decoded
 * image takes at most {@code 4 * maxPixels} bytes (see {@link ImageInspector}).
 *
 * @param maxEncodedBytes largest encoded file, in bytes. Default 10 MiB (OpenAI's 10 MB per image).
 * @param maxWidth widest image, in pixels, after its EXIF orientation is applied. Default 8192.
 * @param maxHeight tallest image, in pixels, after its EXIF orientation is applied. Default 8192.
 * @param maxPixels most pixels (width times height). Default 40,000,000, so about 160 MB of decoded pixels at most.
 */
public record ImageLimits(int maxEncodedBytes, int maxWidth, int maxHeight, long maxPixels) {

    /**
     * The largest {@code maxPixels} allowed: four bytes a pixel must still fit one Java array, which is what ImageIO
     * decodes into.
     */
    public static final long MAX_PIXELS_CEILING = (Integer.MAX_VALUE - 64) / 4;

    private static final ImageLimits DEFAULTS = builder().build();

    public ImageLimits {
        requireRange("maxEncodedBytes", maxEncodedBytes, 1, Integer.MAX_VALUE - 64);
        requireRange("maxWidth", maxWidth, 1, Integer.MAX_VALUE);
        requireRange("maxHeight", maxHeight, 1, Integer.MAX_VALUE);
        requireRange("maxPixels", maxPixels, 1, MAX_PIXELS_CEILING);
    }

    /** The default limits. */
    public static ImageLimits defaults() {
        return DEFAULTS;
    }

    /** A builder that starts from the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    private static void requireRange(String name, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(name + " must be in [" + min + ", " + max + "], was " + value);
        }
    }

    /** Builds {@link ImageLimits}; every setting is optional and starts at its default. */
    public static final class Builder {
        private int maxEncodedBytes = 10 * 1024 * 1024;
        private int maxWidth = 8192;
        private int maxHeight = 8192;
        private long maxPixels = 40_000_000L;

        private Builder() {
        }

        /** Sets {@link ImageLimits#maxEncodedBytes()}. */
        public Builder optMaxEncodedBytes(int value) {
            maxEncodedBytes = value;
            return this;
        }

        /** Sets {@link ImageLimits#maxWidth()}. */
        public Builder optMaxWidth(int value) {
            maxWidth = value;
            return this;
        }

        /** Sets {@link ImageLimits#maxHeight()}. */
        public Builder optMaxHeight(int value) {
            maxHeight = value;
            return this;
        }

        /** Sets {@link ImageLimits#maxPixels()}. */
        public Builder optMaxPixels(long value) {
            maxPixels = value;
            return this;
        }

        /**
         * Builds the limits.
         *
         * @throws IllegalArgumentException if a value is out of its range
         */
        public ImageLimits build() {
            return new ImageLimits(maxEncodedBytes, maxWidth, maxHeight, maxPixels);
        }
    }
}
