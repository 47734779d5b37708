package dev.loupe.engine.drift;

/** The features drift monitoring compares between the training data and live traffic. */
public enum DriftFeature {
    /** Mean luma of a picture. */
    IMAGE_BRIGHTNESS("image_brightness", Measure.PSI),
    /** Standard deviation of a picture's luma. */
    IMAGE_CONTRAST("image_contrast", Measure.PSI),
    /** Pixels across. */
    IMAGE_WIDTH("image_width", Measure.PSI),
    /** Pixels down. */
    IMAGE_HEIGHT("image_height", Measure.PSI),
    /** Width over height. */
    IMAGE_ASPECT_RATIO("image_aspect_ratio", Measure.PSI),
    /** Cosine distance of a picture's vision features from the training pictures' mean direction. */
    IMAGE_EMBEDDING_DISTANCE("image_embedding_distance", Measure.PSI),
    /** Tokens of answers that ended by themselves (not cut off by a token limit). */
    OUTPUT_TOKENS("output_tokens", Measure.PSI),
    /** Answers that are not JSON, where the training answers were JSON. */
    OUTPUT_PARSE_FAILURE_RATE("output_parse_failure_rate", Measure.RATE_INCREASE),
    /** Answers that open as refusals do (see {@link AnswerForms#isRefusal}). */
    OUTPUT_REFUSAL_RATE("output_refusal_rate", Measure.RATE_INCREASE);

    /** How a feature's live values are compared with the reference. */
    public enum Measure {
        /** Population stability index over the reference's quantile bins. */
        PSI,
        /** The live rate less the reference's rate. */
        RATE_INCREASE
    }

    private final String key;
    private final Measure measure;

    DriftFeature(String key, Measure measure) {
        this.key = key;
        this.measure = measure;
    }

    /** The feature's name in references, figures and events. */
    public String key() {
        return key;
    }

    public Measure measure() {
        return measure;
    }
}
