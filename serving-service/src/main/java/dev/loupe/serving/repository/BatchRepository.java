package dev.loupe.serving.repository;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.StreamSupport;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.SqlClient;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.loupe.serving.model.Batch;
import dev.loupe.serving.model.BatchResult;

/** Batches and their sealed answers in SQL; every read of a tenant's data names the tenant. */
@ApplicationScoped
public class BatchRepository {
    private final Pool pool;

    public BatchRepository(Pool pool) {
        this.pool = pool;
    }

    public Pool pool() {
        return pool;
    }

    /** An answer as stored: its text sealed. */
    public record SealedResult(long position, String recordId, String recordHash, byte[] sealedText,
            String finishReason, int promptTokens, int imageTokens, int completionTokens) {
    }

    public Uni<Void> insert(SqlClient client, Batch batch, String idempotencyKey) {
        return client.preparedQuery("INSERT INTO batch (id, tenant, deployment_id, deployment_name, model_version_id,"
                + " dataset_version_id, split, max_tokens, temperature, json_schema, state, key_name, wrapped_key,"
                + " created_at, created_by_user_id, created_by_username, idempotency_key) VALUES ($1, $2, $3, $4,"
                + " $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)")
                .execute(Tuple.from(Arrays.asList(batch.id(), batch.tenant(), batch.deploymentId(),
                        batch.deploymentName(), batch.modelVersionId(), batch.datasetVersionId(), batch.split(),
                        batch.maxTokens(), batch.temperature(), batch.jsonSchema(), batch.state(), batch.keyName(),
                        batch.wrappedKey(), batch.createdAt().atOffset(ZoneOffset.UTC), batch.createdByUserId(),
                        batch.createdByUsername(), idempotencyKey)))
                .replaceWithVoid();
    }

    public Uni<Optional<Batch>> get(SqlClient client, String tenant, String id) {
        return client.preparedQuery("SELECT * FROM batch WHERE id = $1 AND tenant = $2")
                .execute(Tuple.of(id, tenant))
                .map(BatchRepository::first);
    }

    /** The batch, locked until the transaction ends: state changes of the runner and of cancels take turns. */
    public Uni<Optional<Batch>> lock(SqlClient client, String id) {
        return client.preparedQuery("SELECT * FROM batch WHERE id = $1 FOR UPDATE")
                .execute(Tuple.of(id))
                .map(BatchRepository::first);
    }

    public Uni<Optional<Batch>> byIdempotencyKey(SqlClient client, String tenant, String key) {
        return client.preparedQuery("SELECT * FROM batch WHERE tenant = $1 AND idempotency_key = $2")
                .execute(Tuple.of(tenant, key))
                .map(BatchRepository::first);
    }

    /** The tenant's batches in id order after the cursor (an id; empty for the first page). */
    public Uni<List<Batch>> list(String tenant, String after, int limit) {
        return pool.preparedQuery("SELECT * FROM batch WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3")
                .execute(Tuple.of(tenant, after, limit))
                .map(BatchRepository::all);
    }

    /** Every tenant's queued and running batches, oldest first: the runner's work. */
    public Uni<List<Batch>> unfinished() {
        return pool.query("SELECT * FROM batch WHERE state IN ('queued', 'running') ORDER BY created_at, id")
                .execute()
                .map(BatchRepository::all);
    }

    public Uni<Void> updateState(SqlClient client, String id, String state, String reason, Instant finishedAt) {
        return client.preparedQuery("UPDATE batch SET state = $2, failure_reason = $3, finished_at = $4 WHERE id = $1")
                .execute(Tuple.of(id, state, reason,
                        finishedAt == null ? null : finishedAt.atOffset(ZoneOffset.UTC)))
                .replaceWithVoid();
    }

    public Uni<Void> setTotal(SqlClient client, String id, long total) {
        return client.preparedQuery("UPDATE batch SET total = $2 WHERE id = $1")
                .execute(Tuple.of(id, total))
                .replaceWithVoid();
    }

    /** Stores answers and moves the batch's progress past them, in one transaction with the caller's. */
    public Uni<Void> addResults(SqlClient client, String batchId, List<SealedResult> results, long nextPosition) {
        if (results.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        List<Tuple> rows = results.stream()
                .map(result -> Tuple.from(Arrays.asList(batchId, result.position(), result.recordId(),
                        result.recordHash(), io.vertx.core.buffer.Buffer.buffer(result.sealedText()),
                        result.finishReason(),
                        result.promptTokens(), result.imageTokens(), result.completionTokens())))
                .toList();
        long failed = results.stream().filter(result -> result.finishReason().equals(BatchResult.ERROR)).count();
        return client.preparedQuery("INSERT INTO batch_result (batch_id, position, record_id, record_hash,"
                + " sealed_text, finish_reason, prompt_tokens, image_tokens, completion_tokens) VALUES ($1, $2, $3,"
                + " $4, $5, $6, $7, $8, $9)")
                .executeBatch(rows)
                .chain(() -> client.preparedQuery("UPDATE batch SET completed = completed + $2, failed = failed + $3,"
                        + " next_position = $4 WHERE id = $1")
                        .execute(Tuple.of(batchId, results.size() - failed, failed, nextPosition)))
                .replaceWithVoid();
    }

    /** A page of the batch's answers, sealed, in position order after {@code afterPosition}. */
    public Uni<List<SealedResult>> results(String batchId, long afterPosition, int limit) {
        return pool.preparedQuery("SELECT * FROM batch_result WHERE batch_id = $1 AND position > $2 ORDER BY position"
                + " LIMIT $3")
                .execute(Tuple.of(batchId, afterPosition, limit))
                .map(rows -> StreamSupport.stream(rows.spliterator(), false)
                        .map(row -> new SealedResult(row.getLong("position"), row.getString("record_id"),
                                row.getString("record_hash"), row.getBuffer("sealed_text").getBytes(),
                                row.getString("finish_reason"), row.getInteger("prompt_tokens"),
                                row.getInteger("image_tokens"), row.getInteger("completion_tokens")))
                        .toList());
    }

    private static Optional<Batch> first(RowSet<Row> rows) {
        return all(rows).stream().findFirst();
    }

    private static List<Batch> all(RowSet<Row> rows) {
        return StreamSupport.stream(rows.spliterator(), false).map(BatchRepository::batch).toList();
    }

    private static Batch batch(Row row) {
        OffsetDateTime finished = row.getOffsetDateTime("finished_at");
        return new Batch(row.getString("id"), row.getString("tenant"), row.getString("deployment_id"),
                row.getString("deployment_name"), row.getString("model_version_id"),
                row.getString("dataset_version_id"), row.getString("split"), row.getInteger("max_tokens"),
                row.getDouble("temperature"), row.getString("json_schema"), row.getString("state"),
                row.getString("failure_reason"), row.getLong("total"), row.getLong("completed"),
                row.getLong("failed"), row.getLong("next_position"), row.getString("key_name"),
                row.getString("wrapped_key"), row.getOffsetDateTime("created_at").toInstant(),
                row.getString("created_by_user_id"), row.getString("created_by_username"),
                finished == null ? null : finished.toInstant());
    }
}
