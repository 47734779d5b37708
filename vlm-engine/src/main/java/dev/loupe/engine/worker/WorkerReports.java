package dev.loupe.engine.worker;

/**
 * Where {@link TrainerWorker} sends its reports: {@link JsonLinesReports} writes them to the worker's standard
 * output; a reporter over gRPC can take their place. Called from the worker's thread, in order.
 */
@FunctionalInterface
public interface WorkerReports {
    void report(WorkerReport report);
}
