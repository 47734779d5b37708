/**
 * Reading dataset imports: the three accepted file formats (Loupe's native JSONL, OpenAI vision fine-tuning JSONL,
 * LLaVA JSON), one immutable record model they all produce ({@link dev.loupe.dataset.imports.ImportRecord}), and the
 * per-line validation that runs before anything is stored, with its report.
 *
 * <p>
 * Everything here is plain Java with no CDI and no I/O beyond the stream it is given: memory stays bounded by
 * {@link dev.loupe.dataset.imports.ImportLimits} however large the file. Image bytes are not sniffed or decoded here
 * (the image package does that); remote URLs are kept as references and never fetched. The formats and every rule
 * are documented in {@code docs/dataset-formats.md}.
 */
package dev.loupe.dataset.imports;
