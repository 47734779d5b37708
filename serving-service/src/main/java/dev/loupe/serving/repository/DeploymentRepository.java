package dev.loupe.serving.repository;

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

import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.serving.model.Deployment;
import dev.loupe.support.audit.AuditOutbox;

/** Deployments in SQL; every read of a tenant's data names the tenant. Audit events go into the same database. */
@ApplicationScoped
public class DeploymentRepository {
    private final Pool pool;

    public DeploymentRepository(Pool pool) {
        this.pool = pool;
    }

    public Pool pool() {
        return pool;
    }

    public Uni<Void> insert(SqlClient client, Deployment deployment, String idempotencyKey) {
        return client.preparedQuery("INSERT INTO deployment (id, tenant, name, model_version_id, model_version_name,"
                + " base_model_id, max_batch_size, max_concurrent_sequences, cache_enabled, evaluation_schedule,"
                + " evaluation_dataset_version_id, state, failure_reason, created_at, created_by_user_id,"
                + " created_by_username, idempotency_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
                + " $13, $14, $15, $16, $17)")
                .execute(Tuple.from(Arrays.asList(deployment.id(), deployment.tenant(), deployment.name(),
                        deployment.modelVersionId(), deployment.modelVersionName(), deployment.baseModelId(),
                        deployment.maxBatchSize(), deployment.maxConcurrentSequences(), deployment.cacheEnabled(),
                        deployment.evaluationSchedule(), deployment.evaluationDatasetVersionId(),
                        deployment.state(), deployment.failureReason(),
                        deployment.createdAt().atOffset(ZoneOffset.UTC), deployment.createdByUserId(),
                        deployment.createdByUsername(), idempotencyKey)))
                .replaceWithVoid();
    }

    public Uni<Optional<Deployment>> get(SqlClient client, String tenant, String id) {
        return client.preparedQuery("SELECT * FROM deployment WHERE id = $1 AND tenant = $2")
                .execute(Tuple.of(id, tenant))
                .map(DeploymentRepository::first);
    }

    /** The tenant's deployment of that name, or of that id. */
    public Uni<Optional<Deployment>> byNameOrId(String tenant, String nameOrId) {
        return pool.preparedQuery("SELECT * FROM deployment WHERE tenant = $1 AND (name = $2 OR id = $2)"
                + " ORDER BY name = $2 DESC LIMIT 1")
                .execute(Tuple.of(tenant, nameOrId))
                .map(DeploymentRepository::first);
    }

    public Uni<Optional<Deployment>> byIdempotencyKey(SqlClient client, String tenant, String key) {
        return client.preparedQuery("SELECT * FROM deployment WHERE tenant = $1 AND idempotency_key = $2")
                .execute(Tuple.of(tenant, key))
                .map(DeploymentRepository::first);
    }

    /** The tenant's deployments in id order after the cursor (an id; empty for the first page). */
    public Uni<List<Deployment>> list(String tenant, String after, int limit) {
        return pool.preparedQuery("SELECT * FROM deployment WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3")
                .execute(Tuple.of(tenant, after, limit))
                .map(DeploymentRepository::all);
    }

    /** Every tenant's deployments: the service starts them all. */
    public Uni<List<Deployment>> all() {
        return pool.query("SELECT * FROM deployment ORDER BY id").execute().map(DeploymentRepository::all);
    }

    public Uni<Void> updateState(SqlClient client, Deployment deployment) {
        return client.preparedQuery("UPDATE deployment SET state = $2, failure_reason = $3 WHERE id = $1")
                .execute(Tuple.of(deployment.id(), deployment.state(), deployment.failureReason()))
                .replaceWithVoid();
    }

    public Uni<Boolean> delete(SqlClient client, String tenant, String id) {
        return client.preparedQuery("DELETE FROM deployment WHERE id = $1 AND tenant = $2")
                .execute(Tuple.of(id, tenant))
                .map(rows -> rows.rowCount() > 0);
    }

    /** Must run inside the transaction of the change the event describes. */
    public Uni<Void> audit(SqlClient client, AuditEvent event) {
        return client.preparedQuery(AuditOutbox.INSERT)
                .execute(Tuple.of(AuditOutbox.eventId(event), AuditOutbox.payload(event)))
                .replaceWithVoid();
    }

    private static Optional<Deployment> first(RowSet<Row> rows) {
        return all(rows).stream().findFirst();
    }

    private static List<Deployment> all(RowSet<Row> rows) {
        return StreamSupport.stream(rows.spliterator(), false).map(DeploymentRepository::deployment).toList();
    }

    private static Deployment deployment(Row row) {
        return new Deployment(row.getString("id"), row.getString("tenant"), row.getString("name"),
                row.getString("model_version_id"), row.getString("model_version_name"),
                row.getString("base_model_id"), row.getInteger("max_batch_size"),
                row.getInteger("max_concurrent_sequences"), row.getBoolean("cache_enabled"),
                row.getString("evaluation_schedule"), row.getString("evaluation_dataset_version_id"),
                row.getString("state"),
                row.getString("failure_reason"), row.getOffsetDateTime("created_at").toInstant(),
                row.getString("created_by_user_id"), row.getString("created_by_username"));
    }
}
