package dev.loupe.engine.worker;

import java.io.IOException;
import java.util.List;

/**
 * Where a job's examples come from. The worker reads them all once, before training, and checks every one (images,
 * lengths) up front, so that a bad example fails the job at its start with its id rather than hours in; images stay
 * where the source keeps them until a batch needs them. {@link JsonlExampleSource} reads a JSONL file.
 */
@FunctionalInterface
public interface ExampleSource {
    /**
     * Every example, in the source's order (the worker shuffles per epoch).
     *
     * @throws ExampleFormatException naming the example at fault (its line, for a file)
     */
    List<TrainingExample> load() throws IOException;
}
