package dev.loupe.gateway.rest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import org.jboss.resteasy.reactive.server.multipart.FormValue;

import dev.loupe.contracts.dataset.v1.ImportFormat;
import dev.loupe.contracts.dataset.v1.ImportMode;
import dev.loupe.support.error.ProblemException;

/**
 * The parts of an import upload ({@link dev.loupe.gateway.api.ImportForm}), checked before anything is sent to
 * the dataset-service: every problem is a 400 naming the part at fault.
 *
 * @param records the uploaded records file, on disk
 * @param recordsFileName the name the client gave the records file
 * @param images the uploaded zip of images, on disk; null when the upload has none
 */
record ImportUpload(Path records, String recordsFileName, ImportFormat format, ImportMode mode, Path images) {
    private static final List<String> PARTS = List.of("file", "format", "mode", "images");

    static ImportUpload parse(Map<String, Collection<FormValue>> parts) {
        for (String name : parts.keySet()) {
            if (!PARTS.contains(name)) {
                throw ProblemException.invalid(name,
                        "unknown form part '" + name + "'; the parts are file, format, mode and images");
            }
        }
        FormValue file = single(parts, "file");
        if (file == null) {
            throw ProblemException.invalid("file", "file is required: the records file to import");
        }
        Path records = uploadedFile(file, "file");
        if (size(file) == 0) {
            throw ProblemException.invalid("file", "file is empty");
        }
        FormValue images = single(parts, "images");
        return new ImportUpload(records, file.getFileName(), parseFormat(text(parts, "format")),
                parseMode(text(parts, "mode")), images == null ? null : uploadedFile(images, "images"));
    }

    private static ImportFormat parseFormat(String format) {
        if (format == null) {
            throw ProblemException.invalid("format", "format is required: loupe, openai or llava");
        }
        return switch (format) {
            case "loupe" -> ImportFormat.IMPORT_FORMAT_LOUPE;
            case "openai" -> ImportFormat.IMPORT_FORMAT_OPENAI;
            case "llava" -> ImportFormat.IMPORT_FORMAT_LLAVA;
            default -> throw ProblemException.invalid("format", "format must be loupe, openai or llava");
        };
    }

    private static ImportMode parseMode(String mode) {
        if (mode == null) {
            return ImportMode.IMPORT_MODE_ACCEPT_VALID;
        }
        return switch (mode) {
            case "accept_valid" -> ImportMode.IMPORT_MODE_ACCEPT_VALID;
            case "all_or_nothing" -> ImportMode.IMPORT_MODE_ALL_OR_NOTHING;
            default -> throw ProblemException.invalid("mode", "mode must be accept_valid or all_or_nothing");
        };
    }

    /** The one value of a part, or null when the part is absent. */
    private static FormValue single(Map<String, Collection<FormValue>> parts, String name) {
        Collection<FormValue> values = parts.get(name);
        if (values == null || values.isEmpty()) {
            return null;
        }
        if (values.size() > 1) {
            throw ProblemException.invalid(name, name + " must be given once");
        }
        return values.iterator().next();
    }

    /** A text part's value, trimmed; null when absent or blank. */
    private static String text(Map<String, Collection<FormValue>> parts, String name) {
        FormValue value = single(parts, name);
        if (value == null) {
            return null;
        }
        if (value.isFileItem()) {
            throw ProblemException.invalid(name, name + " must be a text field, not a file");
        }
        String text = value.getValue() == null ? "" : value.getValue().trim();
        return text.isEmpty() ? null : text;
    }

    private static Path uploadedFile(FormValue value, String name) {
        if (!value.isFileItem() || value.getFileItem().getFile() == null) {
            throw ProblemException.invalid(name, name + " must be uploaded as a file (a part with a filename)");
        }
        return value.getFileItem().getFile();
    }

    private static long size(FormValue value) {
        try {
            return value.getFileItem().getFileSize();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
