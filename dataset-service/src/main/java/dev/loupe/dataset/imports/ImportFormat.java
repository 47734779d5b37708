package dev.loupe.dataset.imports;

/** The file formats an import accepts. */
public enum ImportFormat {
    /** Loupe's native JSONL: one record per line. */
    LOUPE(LineUnit.LINE),
    /** OpenAI's vision fine-tuning chat JSONL: one example per line. */
    OPENAI(LineUnit.LINE),
    /** LLaVA's conversations JSON: one array whose elements are the records. */
    LLAVA(LineUnit.ARRAY_ELEMENT);

    private final LineUnit lineUnit;

    ImportFormat(LineUnit lineUnit) {
        this.lineUnit = lineUnit;
    }

    /** What a "line" number of this format's report counts. */
    public LineUnit lineUnit() {
        return lineUnit;
    }

    /** A new importer for this format. */
    public RecordImporter importer(ImportLimits limits) {
        return switch (this) {
            case LOUPE -> new LoupeJsonlImporter(limits);
            case OPENAI -> new OpenAiJsonlImporter(limits);
            case LLAVA -> new LlavaJsonImporter(limits);
        };
    }
}
