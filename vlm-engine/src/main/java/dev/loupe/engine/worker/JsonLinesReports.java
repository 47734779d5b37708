package dev.loupe.engine.worker;

import java.io.PrintStream;
import java.io.UncheckedIOException;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * Reports as JSON Lines: one compact JSON object per report, each flushed at once, so that the process reading
 * the stream sees every event as it happens. The stream must carry nothing else ({@link TrainerWorker#main} sends
 * everything else a library prints to standard error).
 */
public final class JsonLinesReports implements WorkerReports {
    private static final ObjectMapper JSON = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .build();
    private static final ObjectWriter WRITER = JSON.writerFor(WorkerReport.class);

    private final PrintStream out;

    public JsonLinesReports(PrintStream out) {
        this.out = out;
    }

    /** One report as the JSON object this class writes. */
    static String json(WorkerReport report) {
        try {
            return WRITER.writeValueAsString(report);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public synchronized void report(WorkerReport report) {
        out.println(json(report));
        out.flush();
    }
}
