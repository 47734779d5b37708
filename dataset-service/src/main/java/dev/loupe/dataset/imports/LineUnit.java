package dev.loupe.dataset.imports;

/** What the 1-based "line" numbers of a report count. */
public enum LineUnit {
    /** Lines of a JSONL file; blank lines are skipped but still counted, so numbers match an editor's. */
    LINE("line"),
    /** Elements of the top-level JSON array of a LLaVA file. */
    ARRAY_ELEMENT("element");

    private final String word;

    LineUnit(String word) {
        this.word = word;
    }

    /** The word a message uses for one unit: {@code line} or {@code element}. */
    public String word() {
        return word;
    }
}
