package dev.loupe.serving.repository;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.ZoneOffset;
import java.util.List;
import java.util.stream.StreamSupport;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonArray;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.SqlClient;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.loupe.engine.drift.DriftAssessment;
import dev.loupe.serving.model.DriftEvent;

/** Drift events in SQL; every read names the tenant. */
@ApplicationScoped
public class DriftEventRepository {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<List<DriftAssessment.FeatureDrift>> FEATURES = new TypeReference<>() {
    };

    private final Pool pool;

    public DriftEventRepository(Pool pool) {
        this.pool = pool;
    }

    public Uni<Void> insert(SqlClient client, DriftEvent event) {
        JsonArray features;
        try {
            features = new JsonArray(JSON.writeValueAsString(event.features()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return client.preparedQuery("INSERT INTO drift_event (id, tenant, deployment_id, kind, features, occurred_at)"
                + " VALUES ($1, $2, $3, $4, $5, $6)")
                .execute(Tuple.of(event.id(), event.tenant(), event.deploymentId(), event.kind(), features,
                        event.occurredAt().atOffset(ZoneOffset.UTC)))
                .replaceWithVoid();
    }

    /** The deployment's latest events, newest first. */
    public Uni<List<DriftEvent>> latest(String tenant, String deploymentId, int limit) {
        return pool.preparedQuery("SELECT id, tenant, deployment_id, kind, features::text AS features, occurred_at"
                + " FROM drift_event WHERE tenant = $1 AND deployment_id = $2 ORDER BY occurred_at DESC, id DESC"
                + " LIMIT $3")
                .execute(Tuple.of(tenant, deploymentId, limit))
                .map(rows -> StreamSupport.stream(rows.spliterator(), false).map(DriftEventRepository::event)
                        .toList());
    }

    private static DriftEvent event(Row row) {
        try {
            return new DriftEvent(row.getString("id"), row.getString("tenant"), row.getString("deployment_id"),
                    row.getString("kind"), JSON.readValue(row.getString("features"), FEATURES),
                    row.getOffsetDateTime("occurred_at").toInstant());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
