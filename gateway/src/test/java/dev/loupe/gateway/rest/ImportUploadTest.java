package dev.loupe.gateway.rest;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.ws.rs.core.MultivaluedMap;

import org.jboss.resteasy.reactive.server.multipart.FileItem;
import org.jboss.resteasy.reactive.server.multipart.FormValue;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.loupe.contracts.dataset.v1.ImportFormat;
import dev.loupe.contracts.dataset.v1.ImportMode;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The import form is checked part by part before anything is sent; each problem names its part. */
class ImportUploadTest {
    @TempDir
    Path dir;

    private Path records;
    private Path images;

    @BeforeEach
    void files() throws IOException {
        records = Files.writeString(dir.resolve("upload-1"), "{\"messages\": []}\n", StandardCharsets.UTF_8);
        images = Files.write(dir.resolve("upload-2"), new byte[]{'P', 'K', 5, 6});
    }

    @Test
    void completeFormIsRead() {
        Map<String, Collection<FormValue>> form = form("file", file(records, "train.jsonl"), "format",
                text("openai"), "mode", text("all_or_nothing"), "images", file(images, "images.zip"));

        ImportUpload upload = ImportUpload.parse(form);

        assertEquals(records, upload.records());
        assertEquals("train.jsonl", upload.recordsFileName());
        assertEquals(ImportFormat.IMPORT_FORMAT_OPENAI, upload.format());
        assertEquals(ImportMode.IMPORT_MODE_ALL_OR_NOTHING, upload.mode());
        assertEquals(images, upload.images());
    }

    @Test
    void modeDefaultsToAcceptValidAndImagesAreOptional() {
        ImportUpload upload = ImportUpload
                .parse(form("file", file(records, "data.json"), "format", text(" llava ")));

        assertEquals(ImportFormat.IMPORT_FORMAT_LLAVA, upload.format());
        assertEquals(ImportMode.IMPORT_MODE_ACCEPT_VALID, upload.mode());
        assertNull(upload.images());
    }

    @Test
    void missingFileIsRefused() {
        assertRefused("file", form("format", text("loupe")));
    }

    @Test
    void fileSentAsTextIsRefused() {
        assertRefused("file", form("file", text("{\"messages\": []}"), "format", text("loupe")));
    }

    @Test
    void emptyFileIsRefused() throws IOException {
        Path empty = Files.write(dir.resolve("upload-3"), new byte[0]);

        assertRefused("file", form("file", file(empty, "empty.jsonl"), "format", text("loupe")));
    }

    @Test
    void missingOrUnknownFormatIsRefused() {
        assertRefused("format", form("file", file(records, "r.jsonl")));
        assertRefused("format", form("file", file(records, "r.jsonl"), "format", text("")));
        assertRefused("format", form("file", file(records, "r.jsonl"), "format", text("LOUPE-v2")));
    }

    @Test
    void formatSentAsFileIsRefused() {
        assertRefused("format", form("file", file(records, "r.jsonl"), "format", file(records, "format.txt")));
    }

    @Test
    void unknownModeIsRefused() {
        assertRefused("mode", form("file", file(records, "r.jsonl"), "format", text("loupe"), "mode", text("best")));
    }

    @Test
    void imagesSentAsTextAreRefused() {
        assertRefused("images",
                form("file", file(records, "r.jsonl"), "format", text("loupe"), "images", text("cat.png")));
    }

    @Test
    void unknownPartIsRefusedNamingIt() {
        // A misspelt mode must not quietly become the default.
        assertRefused("mdoe", form("file", file(records, "r.jsonl"), "format", text("loupe"), "mdoe",
                text("all_or_nothing")));
    }

    @Test
    void partGivenTwiceIsRefused() {
        Map<String, Collection<FormValue>> form = form("file", file(records, "r.jsonl"));
        form.put("format", List.of(text("loupe"), text("openai")));

        assertRefused("format", form);
    }

    private static void assertRefused(String field, Map<String, Collection<FormValue>> form) {
        ProblemException problem = assertThrows(ProblemException.class, () -> ImportUpload.parse(form));
        assertEquals(ProblemType.INVALID_REQUEST, problem.type());
        assertEquals(field, problem.field().orElse(null));
        assertTrue(problem.detail().contains(field), problem.detail());
    }

    private static Map<String, Collection<FormValue>> form(Object... namesAndValues) {
        Map<String, Collection<FormValue>> form = new LinkedHashMap<>();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            form.put((String) namesAndValues[i], List.of((FormValue) namesAndValues[i + 1]));
        }
        return form;
    }

    private static FormValue text(String value) {
        return new Part(value, null, null);
    }

    private static FormValue file(Path path, String fileName) {
        return new Part(null, fileName, path);
    }

    /** A form part as Quarkus REST hands it over: text in memory, or a file written to the uploads directory. */
    private record Part(String value, String fileName, Path path) implements FormValue {
        @Override
        public String getValue() {
            return value;
        }

        @Override
        public String getCharset() {
            return "UTF-8";
        }

        @Override
        public FileItem getFileItem() {
            return path == null ? null : new FileItem() {
                @Override
                public boolean isInMemory() {
                    return false;
                }

                @Override
                public Path getFile() {
                    return path;
                }

                @Override
                public long getFileSize() throws IOException {
                    return Files.size(path);
                }

                @Override
                public InputStream getInputStream() throws IOException {
                    return Files.newInputStream(path);
                }

                @Override
                public void delete() throws IOException {
                    Files.delete(path);
                }

                @Override
                public void write(Path target) throws IOException {
                    Files.copy(path, target);
                }
            };
        }

        @Override
        public boolean isFileItem() {
            return path != null;
        }

        @Override
        public String getFileName() {
            return fileName;
        }

        @Override
        public MultivaluedMap<String, String> getHeaders() {
            return null;
        }
    }
}
