package dev.loupe.training.repository;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.SqlClient;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.loupe.support.id.Ids;
import dev.loupe.training.model.Job;
import dev.loupe.training.model.JobCheckpoint;
import dev.loupe.training.model.JobEvent;
import dev.loupe.training.model.JobStatus;

/**
 * Jobs, their events and checkpoints in SQL. Jobs are written from request handlers and from the threads that
 * follow worker processes, which have no Hibernate session: this repository works on the reactive SQL client,
 * which any thread can use. Every method that reads a tenant's data names the tenant.
 */
@ApplicationScoped
public class JobRepository {
    private final Pool pool;

    public JobRepository(Pool pool) {
        this.pool = pool;
    }

    public Pool pool() {
        return pool;
    }

    public Uni<Void> insert(SqlClient client, Job job, String idempotencyKey) {
        return client.preparedQuery("INSERT INTO fine_tuning_job (id, tenant, base_model_id, base_model_hash,"
                + " dataset_id, dataset_version_id, manifest_hash, train_count, validation_count, validation_split,"
                + " method, hyperparameters, seed, suffix, metadata, priority, estimated_memory_bytes, state,"
                + " output_path, created_at, created_by_user_id, created_by_username, idempotency_key) VALUES ($1,"
                + " $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,"
                + " $23)")
                .execute(Tuple.from(Arrays.asList(job.id(), job.tenant(), job.baseModelId(), job.baseModelHash(),
                        job.datasetId(), job.datasetVersionId(), job.manifestHash(), job.trainCount(),
                        job.validationCount(), job.validationSplit(), new JsonObject(job.method()),
                        new JsonObject(job.hyperparameters()), job.seed(), job.suffix(),
                        new JsonObject(new LinkedHashMap<>(job.metadata())), job.priority(),
                        job.estimatedMemoryBytes(), job.status().dbName, job.outputPath(),
                        SqlValues.utc(job.createdAt()),
                        job.createdByUserId(), job.createdByUsername(), idempotencyKey)))
                .replaceWithVoid();
    }

    /** The tenant's job; empty for an id of another tenant. */
    public Uni<Optional<Job>> get(SqlClient client, String tenant, String id) {
        return client.preparedQuery("SELECT * FROM fine_tuning_job WHERE id = $1 AND tenant = $2")
                .execute(Tuple.of(id, tenant))
                .map(JobRepository::firstJob);
    }

    /** The job, locked until the transaction ends: state changes read and write it under this lock. */
    public Uni<Optional<Job>> lock(SqlClient client, String id) {
        return client.preparedQuery("SELECT * FROM fine_tuning_job WHERE id = $1 FOR UPDATE")
                .execute(Tuple.of(id))
                .map(JobRepository::firstJob);
    }

    /** A job of any tenant, for the scheduler and the workers' followers. */
    public Uni<Optional<Job>> find(String id) {
        return pool.preparedQuery("SELECT * FROM fine_tuning_job WHERE id = $1")
                .execute(Tuple.of(id))
                .map(JobRepository::firstJob);
    }

    public Uni<Optional<Job>> findByIdempotencyKey(String tenant, String userId, String key) {
        return pool.preparedQuery("SELECT * FROM fine_tuning_job WHERE tenant = $1 AND created_by_user_id = $2 AND"
                + " idempotency_key = $3")
                .execute(Tuple.of(tenant, userId, key))
                .map(JobRepository::firstJob);
    }

    /** The tenant's jobs, newest first, before the cursor (a job id; empty for the first page). */
    public Uni<List<Job>> list(String tenant, List<String> states, String before, int limit) {
        return pool.preparedQuery("SELECT * FROM fine_tuning_job WHERE tenant = $1 AND ($2 = '' OR id < $2) AND"
                + " (cardinality($3::text[]) = 0 OR state = ANY($3)) ORDER BY id DESC LIMIT $4")
                .execute(Tuple.of(tenant, before, states.toArray(String[]::new), limit))
                .map(JobRepository::jobs);
    }

    /** Jobs in these states, of every tenant, in the scheduler's order: priority, then age. */
    public Uni<List<Job>> inStates(List<String> states) {
        return pool.preparedQuery("SELECT * FROM fine_tuning_job WHERE state = ANY($1) ORDER BY priority DESC, id")
                .execute(Tuple.of(states.toArray(String[]::new)))
                .map(JobRepository::jobs);
    }

    /** Jobs of the tenant in these states. */
    public Uni<Long> count(SqlClient client, String tenant, List<String> states) {
        return client.preparedQuery("SELECT count(*) FROM fine_tuning_job WHERE tenant = $1 AND state = ANY($2)")
                .execute(Tuple.of(tenant, states.toArray(String[]::new)))
                .map(rows -> rows.iterator().next().getLong(0));
    }

    /** Writes a job's mutable columns (state, progress, worker, results). */
    public Uni<Void> update(SqlClient client, Job job) {
        return client.preparedQuery("UPDATE fine_tuning_job SET state = $2, stop_requested = $3, failure_reason = $4,"
                + " trained_steps = $5, total_steps = $6, attempt = $7, worker_pid = $8, evaluation = $9,"
                + " base_evaluation = $10, artifact_path = $11, started_at = $12, finished_at = $13,"
                + " result_model_version_id = $14 WHERE id = $1")
                .execute(Tuple.from(Arrays.asList(job.id(), job.status().dbName, job.stopRequested(),
                        job.failureReason(), job.trainedSteps(), job.totalSteps(), job.attempt(), job.workerPid(),
                        new JsonObject(new LinkedHashMap<>(job.evaluation())),
                        new JsonObject(new LinkedHashMap<>(job.baseEvaluation())), job.artifactPath(),
                        SqlValues.utc(job.startedAt()), SqlValues.utc(job.finishedAt()), job.resultModelVersionId())))
                .replaceWithVoid();
    }

    /** Appends an event with the job's next sequence number; must run in a transaction. */
    public Uni<JobEvent> addEvent(SqlClient client, String jobId, String level, String type, String message,
            Map<String, Double> metrics) {
        Instant now = Instant.now();
        String id = Ids.newId().toString();
        return client.preparedQuery("UPDATE fine_tuning_job SET last_event_sequence = last_event_sequence + 1"
                + " WHERE id = $1 RETURNING last_event_sequence")
                .execute(Tuple.of(jobId))
                .map(rows -> rows.iterator().next().getLong(0))
                .call(sequence -> client.preparedQuery("INSERT INTO fine_tuning_job_event (job_id, sequence, id,"
                        + " level, type, message, metrics, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                        .execute(Tuple.from(Arrays.asList(jobId, sequence, id, level, type, message,
                                new JsonObject(new LinkedHashMap<>(metrics)), SqlValues.utc(now)))))
                .map(sequence -> new JobEvent(jobId, sequence, id, level, type, message, metrics,
                        micros(now)));
    }

    /** A job's events after a sequence number, oldest first. */
    public Uni<List<JobEvent>> events(String jobId, long afterSequence, int limit) {
        return pool.preparedQuery("SELECT * FROM fine_tuning_job_event WHERE job_id = $1 AND sequence > $2 ORDER BY"
                + " sequence LIMIT $3")
                .execute(Tuple.of(jobId, afterSequence, limit))
                .map(rows -> {
                    List<JobEvent> events = new ArrayList<>();
                    for (Row row : rows) {
                        events.add(new JobEvent(row.getString("job_id"), row.getLong("sequence"), row.getString("id"),
                                row.getString("level"), row.getString("type"), row.getString("message"),
                                SqlValues.doubles(row.getJsonObject("metrics")), instant(row, "created_at")));
                    }
                    return events;
                });
    }

    /** The training metrics a job reported for a step (its metrics event); empty if none. */
    public Uni<Map<String, Double>> stepMetrics(SqlClient client, String jobId, long step) {
        return client.preparedQuery("SELECT metrics FROM fine_tuning_job_event WHERE job_id = $1 AND type = 'metrics'"
                + " AND (metrics ->> 'step')::float8 = $2 AND metrics ? 'learning_rate' ORDER BY sequence DESC LIMIT 1")
                .execute(Tuple.of(jobId, (double) step))
                .map(rows -> rows.rowCount() == 0
                        ? Map.of()
                        : SqlValues.doubles(rows.iterator().next().getJsonObject(0)));
    }

    /** The folder of a base model's checkpoint (its storage_uri). */
    public Uni<java.nio.file.Path> baseModelFolder(String baseModelId) {
        return pool.preparedQuery("SELECT storage_uri FROM base_model WHERE id = $1")
                .execute(Tuple.of(baseModelId))
                .map(rows -> java.nio.file.Path.of(java.net.URI.create(rows.iterator().next().getString(0))));
    }

    /** Records a checkpoint; a second report of the same step (a relaunched worker) keeps the first. */
    public Uni<Void> addCheckpoint(SqlClient client, JobCheckpoint checkpoint) {
        return client.preparedQuery("INSERT INTO fine_tuning_job_checkpoint (job_id, step, id, metrics, content_hash,"
                + " path, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (job_id, step) DO NOTHING")
                .execute(Tuple.from(Arrays.asList(checkpoint.jobId(), checkpoint.step(), checkpoint.id(),
                        new JsonObject(new LinkedHashMap<>(checkpoint.metrics())), checkpoint.contentHash(),
                        checkpoint.path(), SqlValues.utc(checkpoint.createdAt()))))
                .replaceWithVoid();
    }

    /** A job's checkpoints by step, after a step. */
    public Uni<List<JobCheckpoint>> checkpoints(String jobId, long afterStep, int limit) {
        return pool.preparedQuery("SELECT * FROM fine_tuning_job_checkpoint WHERE job_id = $1 AND step > $2 ORDER BY"
                + " step LIMIT $3")
                .execute(Tuple.of(jobId, afterStep, limit))
                .map(rows -> {
                    List<JobCheckpoint> checkpoints = new ArrayList<>();
                    for (Row row : rows) {
                        checkpoints.add(new JobCheckpoint(row.getString("job_id"), row.getLong("step"),
                                row.getString("id"), SqlValues.doubles(row.getJsonObject("metrics")),
                                row.getString("content_hash"), row.getString("path"), instant(row, "created_at")));
                    }
                    return checkpoints;
                });
    }

    private static Optional<Job> firstJob(RowSet<Row> rows) {
        return rows.rowCount() == 0 ? Optional.empty() : Optional.of(job(rows.iterator().next()));
    }

    private static List<Job> jobs(RowSet<Row> rows) {
        List<Job> jobs = new ArrayList<>();
        rows.forEach(row -> jobs.add(job(row)));
        return jobs;
    }

    private static Job job(Row row) {
        Map<String, String> metadata = new LinkedHashMap<>();
        row.getJsonObject("metadata").forEach(entry -> metadata.put(entry.getKey(), String.valueOf(entry.getValue())));
        return new Job(row.getString("id"), row.getString("tenant"), row.getString("base_model_id"),
                row.getString("base_model_hash"), row.getString("dataset_id"), row.getString("dataset_version_id"),
                row.getString("manifest_hash"), row.getLong("train_count"), row.getLong("validation_count"),
                row.getString("validation_split"), row.getJsonObject("method").getMap(),
                row.getJsonObject("hyperparameters").getMap(), row.getLong("seed"), row.getString("suffix"),
                metadata, row.getInteger("priority"), row.getLong("estimated_memory_bytes"),
                JobStatus.ofDb(row.getString("state")), row.getString("stop_requested"),
                row.getString("failure_reason"), row.getLong("trained_steps"), row.getLong("total_steps"),
                row.getInteger("attempt"), row.getLong("worker_pid"),
                SqlValues.doubles(row.getJsonObject("evaluation")),
                SqlValues.doubles(row.getJsonObject("base_evaluation")), row.getString("output_path"),
                row.getString("artifact_path"), row.getString("result_model_version_id"), instant(row, "created_at"),
                instant(row, "started_at"),
                instant(row, "finished_at"), row.getString("created_by_user_id"),
                row.getString("created_by_username"));
    }

    private static Instant instant(Row row, String column) {
        return SqlValues.instant(row.getOffsetDateTime(column));
    }

    /** What PostgreSQL keeps of an instant, so that what a write returns equals what a later read returns. */
    public static Instant micros(Instant instant) {
        return SqlValues.micros(instant);
    }
}
