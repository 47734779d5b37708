package dev.loupe.dataset.imports;

import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

/** The Jackson set-up of imports: strict JSON with the import's size limits. */
final class JsonSupport {
    /** The location Jackson appends inside some messages, such as a start marker's. */
    private static final Pattern SOURCE = Pattern.compile("\\[Source: [^\\]]*?; line: (\\d+), column: (\\d+)\\]");
    private JsonSupport() {
    }

    /**
     * A factory whose parsers refuse nesting deeper than the limit and strings longer than a line (no string of a
     * valid line can be longer), never quote the source in messages and never
     * close the caller's stream.
     */
    static JsonFactory factory(ImportLimits limits, boolean strictDuplicates) {
        var builder = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(limits.maxJsonDepth())
                        .maxStringLength(limits.maxLineBytes()).build())
                .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
                .disable(StreamReadFeature.AUTO_CLOSE_SOURCE);
        if (strictDuplicates) {
            builder.enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION);
        }
        return builder.build();
    }

    static ObjectMapper mapper(JsonFactory factory) {
        return JsonMapper.builder(factory).build();
    }

    /**
     * Jackson's message in words for a data steward: no source description, no Java names. Nesting and length
     * limits are said in terms of the import's limits.
     *
     * @param fileLines whether the parser read the whole file (LLaVA), so its line numbers are the file's
     */
    static String reason(JsonProcessingException e, ImportLimits limits, boolean fileLines) {
        String reason = e.getOriginalMessage();
        if (reason == null) {
            return "malformed JSON";
        }
        if (e instanceof StreamConstraintsException) {
            if (reason.startsWith("Document nesting depth")) {
                return "objects and arrays are nested deeper than " + limits.maxJsonDepth() + " levels";
            }
            if (reason.startsWith("String value length")) {
                return "a string is longer than " + limits.maxLineBytes() + " characters";
            }
        }
        // In JSONL the parser sees one line at a time, so its line number is always 1: only the column helps.
        return SOURCE.matcher(reason).replaceAll(fileLines ? "line $1, column $2" : "column $2");
    }

}
