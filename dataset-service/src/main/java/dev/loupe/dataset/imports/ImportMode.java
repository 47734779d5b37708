package dev.loupe.dataset.imports;

/** What happens to the valid lines of an import that also has rejected lines. */
public enum ImportMode {
    /** The valid lines are accepted; the rejected ones are reported. */
    ACCEPT_VALID,
    /**
     * Nothing is accepted unless every line is valid. Every line is still checked, so the report lists all the
     * errors at once.
     */
    ALL_OR_NOTHING
}
