/**
 * The trainer worker: the process the training-service starts for each fine-tuning job. It reads a job spec
 * ({@link dev.loupe.engine.worker.JobSpec}) and the job's examples ({@link dev.loupe.engine.worker.ExampleSource}),
 * fine-tunes with LoRA or fully, evaluates before and after, checkpoints so that a stopped or crashed job resumes
 * exactly, and reports each event ({@link dev.loupe.engine.worker.WorkerReports}) as a JSON line on its standard
 * output. {@link dev.loupe.engine.worker.TrainerWorker} documents the whole contract.
 */
package dev.loupe.engine.worker;
