package dev.loupe.serving.repository;

import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.SqlClient;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.loupe.serving.model.EvaluationRun;

/** Scheduled evaluations' results in SQL; every read names the tenant. */
@ApplicationScoped
public class EvaluationRunRepository {
    private final Pool pool;

    public EvaluationRunRepository(Pool pool) {
        this.pool = pool;
    }

    public Uni<Void> insert(SqlClient client, EvaluationRun run) {
        return client.preparedQuery("INSERT INTO evaluation_run (id, tenant, deployment_id, dataset_version_id, ran_at,"
                + " examples, failed_examples, metrics, training_metrics, regressed) VALUES ($1, $2, $3, $4, $5, $6, $7,"
                + " $8, $9, $10)")
                .execute(Tuple.from(List.of(run.id(), run.tenant(), run.deploymentId(), run.datasetVersionId(),
                        run.ranAt().atOffset(ZoneOffset.UTC), run.examples(), run.failedExamples(),
                        new JsonObject(new HashMap<>(run.metrics())),
                        new JsonObject(new HashMap<>(run.trainingMetrics())), new JsonArray(run.regressed()))))
                .replaceWithVoid();
    }

    /** The deployment's latest runs, newest first. */
    public Uni<List<EvaluationRun>> latest(String tenant, String deploymentId, int limit) {
        return pool.preparedQuery("SELECT * FROM evaluation_run WHERE tenant = $1 AND deployment_id = $2"
                + " ORDER BY ran_at DESC, id DESC LIMIT $3")
                .execute(Tuple.of(tenant, deploymentId, limit))
                .map(rows -> StreamSupport.stream(rows.spliterator(), false).map(EvaluationRunRepository::run)
                        .toList());
    }

    private static EvaluationRun run(Row row) {
        List<String> regressed = new ArrayList<>();
        row.getJsonArray("regressed").forEach(name -> regressed.add(name.toString()));
        return new EvaluationRun(row.getString("id"), row.getString("tenant"), row.getString("deployment_id"),
                row.getString("dataset_version_id"), row.getOffsetDateTime("ran_at").toInstant(),
                row.getInteger("examples"), row.getInteger("failed_examples"), doubles(row.getJsonObject("metrics")),
                doubles(row.getJsonObject("training_metrics")), regressed);
    }

    private static Map<String, Double> doubles(JsonObject json) {
        Map<String, Double> values = new HashMap<>();
        json.forEach(entry -> values.put(entry.getKey(), ((Number) entry.getValue()).doubleValue()));
        return values;
    }
}
