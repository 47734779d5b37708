package dev.loupe.dataset.imports;

import java.io.IOException;
import java.io.InputStream;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Reads JSONL for the two line-based formats: bounded lines, strict UTF-8, one JSON value per line. */
final class JsonlReader {
    private final ImportLimits limits;
    private final JsonFactory factory;
    private final ObjectMapper mapper;

    JsonlReader(ImportLimits limits) {
        this.limits = limits;
        this.factory = JsonSupport.factory(limits, true);
        this.mapper = JsonSupport.mapper(factory);
    }

    ObjectMapper mapper() {
        return mapper;
    }

    void read(InputStream in, LineSink sink, LineValidator.FormatReader format) throws IOException {
        BoundedLineReader lines = new BoundedLineReader(in, limits.maxLineBytes());
        LineValidator validator = new LineValidator(limits, LineUnit.LINE, format);
        while (lines.next()) {
            if (lines.blank()) {
                continue;
            }
            ErrorCollector errors = validator.begin(lines.number());
            JsonNode node = errors.isEmpty() ? parse(lines, errors) : null;
            sink.accept(node == null ? errors.rejected(false) : validator.validate(node, errors));
        }
    }

    private JsonNode parse(BoundedLineReader lines, ErrorCollector errors) {
        if (lines.tooLong()) {
            errors.add(ImportErrorCode.LINE_TOO_LONG, "", "the line has " + lines.fullLength()
                    + " bytes; at most " + limits.maxLineBytes() + " are allowed (move large images into the images"
                    + " archive instead of data: URLs)");
            return null;
        }
        byte[] bytes = lines.bytes();
        int start = lines.start();
        int length = lines.length();
        int invalid = Utf8Validator.firstInvalid(bytes, start, length);
        if (invalid >= 0) {
            errors.add(ImportErrorCode.INVALID_UTF8, "", "the line is not valid UTF-8 at byte " + (invalid + 1)
                    + " (byte value 0x" + String.format("%02x", bytes[start + invalid] & 0xff)
                    + "); save the file as UTF-8");
            return null;
        }
        for (int i = start; i < start + length; i++) {
            // A raw NUL is never valid JSON, and it would make Jackson guess the line is UTF-16.
            if (bytes[i] == 0) {
                errors.add(ImportErrorCode.INVALID_JSON, "",
                        "the line holds a NUL byte at byte " + (i - start + 1) + "; is the file UTF-16?");
                return null;
            }
        }
        try (JsonParser parser = factory.createParser(bytes, start, length)) {
            JsonNode node = mapper.readTree(parser);
            if (parser.nextToken() != null) {
                errors.add(ImportErrorCode.INVALID_JSON, "", "invalid JSON at column "
                        + parser.currentTokenLocation().getColumnNr()
                        + ": more follows the first JSON value; a line holds exactly one record");
                return null;
            }
            return node;
        } catch (JsonProcessingException e) {
            JsonLocation location = e.getLocation();
            String column = location == null || location.getColumnNr() < 1
                    ? ""
                    : " at column " + location.getColumnNr();
            errors.add(ImportErrorCode.INVALID_JSON, "",
                    "invalid JSON" + column + ": " + JsonSupport.reason(e, limits, false));
            return null;
        } catch (IOException e) {
            errors.add(ImportErrorCode.INVALID_JSON, "", "invalid JSON: " + e.getMessage());
            return null;
        }
    }
}
