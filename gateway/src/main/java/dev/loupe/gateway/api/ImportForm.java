package dev.loupe.gateway.api;

import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/**
 * The multipart/form-data parts of {@code POST /v1/datasets/{id}/imports}. Parts the API does not define are
 * refused, naming the part. This type documents the form; the gateway reads the parts as the upload arrives,
 * onto disk.
 */
@Schema(name = "DatasetImportForm")
public record ImportForm(
        @Schema(type = SchemaType.STRING, format = "binary", required = true, description = "The records file: JSONL for `loupe` and `openai`, one JSON array for `llava` (docs/dataset-formats.md). Its file name appears in the import's report.") String file,
        @Schema(required = true, enumeration = {
                "loupe", "openai",
                "llava"}, description = "The records file's format") String format,
        @Schema(enumeration = {"accept_valid",
                "all_or_nothing"}, defaultValue = "accept_valid", description = "`accept_valid` stores the valid lines and reports the rejected ones; `all_or_nothing` stores nothing unless every line is valid") String mode,
        @Schema(type = SchemaType.STRING, format = "binary", description = "A zip of the image files the records name by their path inside it. Limits (configurable): 10 MiB per file, 100000 entries, 8 GiB uncompressed in all, and no file over 1 MiB that expands more than 100 times.") String images) {
}
