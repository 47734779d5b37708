package dev.loupe.gateway.api;

/**
 * The body of {@code POST /v1/deployments}.
 *
 * @param model the id of an approved fine-tuned model version
 * @param name the name chat completions use as {@code model}: 1 to 100 lower-case letters, digits, '.', '_', ':'
 *        or '-'; the model version's name when left out
 * @param maxBatchSize requests generated together, 1 to 64 (default 8)
 * @param maxConcurrentSequences requests admitted at once, 1 to 1024 (default 32); beyond it 429
 * @param cacheEnabled whether deterministic requests may be answered from the response cache (default true)
 * @param evaluationSchedule a Quartz cron expression (seconds first, e.g. {@code 0 0 2 * * ?} for 02:00 daily) of
 *        a scheduled evaluation on {@code evaluationDatasetVersion}'s validation split; none when left out
 * @param evaluationDatasetVersion a frozen dataset version of the tenant, required with a schedule
 */
public record CreateDeploymentBody(String model, String name, Integer maxBatchSize, Integer maxConcurrentSequences,
        Boolean cacheEnabled, String evaluationSchedule, String evaluationDatasetVersion) {
}
