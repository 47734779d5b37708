package dev.loupe.dataset.imports;

/**
 * The limits of one import. {@link #defaults()} gives the documented defaults ({@code docs/dataset-formats.md});
 * {@link #builder()} changes some of them. A service maps its configuration onto this record.
 *
 * @param maxLineBytes longest line (or LLaVA array element), in bytes without its line feed; enforced while
 *        reading, so a longer line is never held in memory whole. Default 8 MiB.
 * @param maxImagesPerRecord most images one record may have. Default 10 (OpenAI's limit).
 * @param maxImageBytes largest inline ({@code data:} URL) image once decoded, checked before decoding. Default 10
 *        MiB (OpenAI's 10 MB limit). The image package applies the same figure to archive files.
 * @param maxSequenceTokens most estimated tokens of one record (text plus images). Default 4096.
 * @param imageTokens tokens one image takes in the sequence (the vision encoder's patch count). Default 576 (a
 *        336-pixel CLIP ViT-L/14: 24 x 24 patches).
 * @param tokensPerMessage tokens the chat template adds around each turn. Default 5 (ChatML's
 *        {@code <|im_start|>role\n ... <|im_end|>\n}).
 * @param maxRecords most records of one import; bounds the memory of duplicate-id detection (32 MiB per million
 *        ids). Default 1,000,000.
 * @param maxIdLength longest client id, in characters. Default 256.
 * @param maxJsonDepth deepest nesting of JSON objects and arrays in a line. Default 64.
 * @param maxErrorsPerLine errors kept in full for one line; further ones still count by code. Default 20.
 * @param maxReportedLines rejected lines kept in full in the report; further ones only count. Default 1,000.
 */
public record ImportLimits(int maxLineBytes, int maxImagesPerRecord, int maxImageBytes, int maxSequenceTokens,
        int imageTokens, int tokensPerMessage, long maxRecords, int maxIdLength, int maxJsonDepth,
        int maxErrorsPerLine, int maxReportedLines) {

    /** Text tokens are estimated as the UTF-8 bytes of a turn's text divided by this, rounded up. */
    public static final int BYTES_PER_TOKEN = 4;

    private static final ImportLimits DEFAULTS = builder().build();

    public ImportLimits {
        // A line is held in one byte array, and Jackson's own constraints are int-sized.
        requireRange("maxLineBytes", maxLineBytes, 1024, Integer.MAX_VALUE - 64);
        requireRange("maxImagesPerRecord", maxImagesPerRecord, 0, 10_000);
        requireRange("maxImageBytes", maxImageBytes, 1, Integer.MAX_VALUE - 64);
        requireRange("maxSequenceTokens", maxSequenceTokens, 1, Integer.MAX_VALUE);
        requireRange("imageTokens", imageTokens, 0, 1_000_000);
        requireRange("tokensPerMessage", tokensPerMessage, 0, 1_000);
        requireRange("maxRecords", maxRecords, 1, 1L << 30);
        requireRange("maxIdLength", maxIdLength, 1, 100_000);
        requireRange("maxJsonDepth", maxJsonDepth, 4, 1_000);
        requireRange("maxErrorsPerLine", maxErrorsPerLine, 1, 10_000);
        requireRange("maxReportedLines", maxReportedLines, 0, 1_000_000);
    }

    /** The documented defaults. */
    public static ImportLimits defaults() {
        return DEFAULTS;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this record's values. */
    public Builder toBuilder() {
        return new Builder().optMaxLineBytes(maxLineBytes).optMaxImagesPerRecord(maxImagesPerRecord)
                .optMaxImageBytes(maxImageBytes).optMaxSequenceTokens(maxSequenceTokens).optImageTokens(imageTokens)
                .optTokensPerMessage(tokensPerMessage).optMaxRecords(maxRecords).optMaxIdLength(maxIdLength)
                .optMaxJsonDepth(maxJsonDepth).optMaxErrorsPerLine(maxErrorsPerLine)
                .optMaxReportedLines(maxReportedLines);
    }

    private static void requireRange(String name, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(name + " must be in [" + min + ", " + max + "], was " + value);
        }
    }

    /** Builds {@link ImportLimits}; every setting is optional and starts at its default. */
    public static final class Builder {
        private int maxLineBytes = 8 * 1024 * 1024;
        private int maxImagesPerRecord = 10;
        private int maxImageBytes = 10 * 1024 * 1024;
        private int maxSequenceTokens = 4096;
        private int imageTokens = 576;
        private int tokensPerMessage = 5;
        private long maxRecords = 1_000_000;
        private int maxIdLength = 256;
        private int maxJsonDepth = 64;
        private int maxErrorsPerLine = 20;
        private int maxReportedLines = 1_000;

        private Builder() {
        }

        public Builder optMaxLineBytes(int value) {
            maxLineBytes = value;
            return this;
        }

        public Builder optMaxImagesPerRecord(int value) {
            maxImagesPerRecord = value;
            return this;
        }

        public Builder optMaxImageBytes(int value) {
            maxImageBytes = value;
            return this;
        }

        public Builder optMaxSequenceTokens(int value) {
            maxSequenceTokens = value;
            return this;
        }

        public Builder optImageTokens(int value) {
            imageTokens = value;
            return this;
        }

        public Builder optTokensPerMessage(int value) {
            tokensPerMessage = value;
            return this;
        }

        public Builder optMaxRecords(long value) {
            maxRecords = value;
            return this;
        }

        public Builder optMaxIdLength(int value) {
            maxIdLength = value;
            return this;
        }

        public Builder optMaxJsonDepth(int value) {
            maxJsonDepth = value;
            return this;
        }

        public Builder optMaxErrorsPerLine(int value) {
            maxErrorsPerLine = value;
            return this;
        }

        public Builder optMaxReportedLines(int value) {
            maxReportedLines = value;
            return this;
        }

        /** @throws IllegalArgumentException naming the first setting out of its range */
        public ImportLimits build() {
            return new ImportLimits(maxLineBytes, maxImagesPerRecord, maxImageBytes, maxSequenceTokens, imageTokens,
                    tokensPerMessage, maxRecords, maxIdLength, maxJsonDepth, maxErrorsPerLine, maxReportedLines);
        }
    }
}
