package dev.loupe.training.repository;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.SqlClient;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.loupe.training.model.ModelVersion;

/** Model versions and the records they saw, in SQL; every read of a tenant's data names the tenant. */
@ApplicationScoped
public class ModelVersionRepository {
    private final Pool pool;

    public ModelVersionRepository(Pool pool) {
        this.pool = pool;
    }

    public Pool pool() {
        return pool;
    }

    public Uni<Void> insert(SqlClient client, ModelVersion version) {
        return client.preparedQuery("INSERT INTO model_version (id, tenant, name, job_id, state, base_model_id,"
                + " base_model_hash, dataset_id, dataset_version_id, manifest_hash, code_version, seed, config,"
                + " hardware, trained_record_count, validation_record_count, evaluation, base_evaluation,"
                + " artifact_kind, artifact_hash, artifact_bytes, artifact_files, key_name, wrapped_key, created_at,"
                + " trained_by_user_id, trained_by_username) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
                + " $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)")
                .execute(Tuple.from(Arrays.asList(version.id(), version.tenant(), version.name(), version.jobId(),
                        version.state(), version.baseModelId(), version.baseModelHash(), version.datasetId(),
                        version.datasetVersionId(), version.manifestHash(), version.codeVersion(), version.seed(),
                        new JsonObject(version.config()), new JsonObject(new LinkedHashMap<>(version.hardware())),
                        version.trainedRecordCount(), version.validationRecordCount(),
                        new JsonObject(new LinkedHashMap<>(version.evaluation())),
                        new JsonObject(new LinkedHashMap<>(version.baseEvaluation())), version.artifactKind(),
                        version.artifactHash(), version.artifactBytes(), new JsonArray(version.artifactFiles()),
                        version.keyName(), version.wrappedKey(), SqlValues.utc(version.createdAt()),
                        version.trainedByUserId(),
                        version.trainedByUsername())))
                .replaceWithVoid();
    }

    /** Records what the version saw, per split. */
    public Uni<Void> addRecords(SqlClient client, String versionId, String split, List<String> recordHashes) {
        if (recordHashes.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        List<Tuple> rows = recordHashes.stream().distinct().map(hash -> Tuple.of(versionId, hash, split)).toList();
        return client.preparedQuery("INSERT INTO model_version_record (model_version_id, record_hash, split) VALUES"
                + " ($1, $2, $3)").executeBatch(rows).replaceWithVoid();
    }

    public Uni<Optional<ModelVersion>> get(SqlClient client, String tenant, String id) {
        return client.preparedQuery("SELECT * FROM model_version WHERE id = $1 AND tenant = $2")
                .execute(Tuple.of(id, tenant))
                .map(ModelVersionRepository::first);
    }

    /** The tenant's version, locked until the transaction ends. */
    public Uni<Optional<ModelVersion>> lock(SqlClient client, String tenant, String id) {
        return client.preparedQuery("SELECT * FROM model_version WHERE id = $1 AND tenant = $2 FOR UPDATE")
                .execute(Tuple.of(id, tenant))
                .map(ModelVersionRepository::first);
    }

    /** The tenant's versions, oldest first, after the cursor (a version id; empty for the first page). */
    public Uni<List<ModelVersion>> list(String tenant, String after, int limit) {
        return pool.preparedQuery("SELECT * FROM model_version WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3")
                .execute(Tuple.of(tenant, after, limit))
                .map(ModelVersionRepository::all);
    }

    /** The tenant's versions that saw any of the records, optionally only those trained on one dataset. */
    public Uni<List<ModelVersion>> trainedOn(String tenant, List<String> recordHashes, String datasetId) {
        return pool.preparedQuery("SELECT * FROM model_version v WHERE v.tenant = $1 AND ($3 = '' OR v.dataset_id ="
                + " $3) AND EXISTS (SELECT 1 FROM model_version_record r WHERE r.model_version_id = v.id AND"
                + " r.record_hash = ANY($2)) ORDER BY v.id")
                .execute(Tuple.of(tenant, recordHashes.toArray(String[]::new), datasetId))
                .map(ModelVersionRepository::all);
    }

    /** The states of those of the ids that are the tenant's versions. */
    public Uni<Map<String, String>> states(String tenant, List<String> ids) {
        return pool.preparedQuery("SELECT id, state FROM model_version WHERE tenant = $1 AND id = ANY($2)")
                .execute(Tuple.of(tenant, ids.toArray(String[]::new)))
                .map(rows -> {
                    Map<String, String> states = new LinkedHashMap<>();
                    rows.forEach(row -> states.put(row.getString("id"), row.getString("state")));
                    return states;
                });
    }

    public Uni<Void> updateReview(SqlClient client, ModelVersion version) {
        return client.preparedQuery("UPDATE model_version SET state = $2, reviewed_by_user_id = $3,"
                + " reviewed_by_username = $4, review_comment = $5, reviewed_at = $6 WHERE id = $1")
                .execute(Tuple.from(Arrays.asList(version.id(), version.state(), version.reviewedByUserId(),
                        version.reviewedByUsername(), version.reviewComment(), SqlValues.utc(version.reviewedAt()))))
                .replaceWithVoid();
    }

    private static Optional<ModelVersion> first(RowSet<Row> rows) {
        return rows.rowCount() == 0 ? Optional.empty() : Optional.of(version(rows.iterator().next()));
    }

    private static List<ModelVersion> all(RowSet<Row> rows) {
        List<ModelVersion> versions = new ArrayList<>();
        rows.forEach(row -> versions.add(version(row)));
        return versions;
    }

    private static ModelVersion version(Row row) {
        Map<String, String> hardware = new LinkedHashMap<>();
        row.getJsonObject("hardware").forEach(entry -> hardware.put(entry.getKey(), String.valueOf(entry.getValue())));
        List<String> files = new ArrayList<>();
        row.getJsonArray("artifact_files").forEach(name -> files.add((String) name));
        return new ModelVersion(row.getString("id"), row.getString("tenant"), row.getString("name"),
                row.getString("job_id"), row.getString("state"), row.getString("base_model_id"),
                row.getString("base_model_hash"), row.getString("dataset_id"), row.getString("dataset_version_id"),
                row.getString("manifest_hash"), row.getString("code_version"), row.getLong("seed"),
                row.getJsonObject("config").getMap(), hardware, row.getLong("trained_record_count"),
                row.getLong("validation_record_count"), SqlValues.doubles(row.getJsonObject("evaluation")),
                SqlValues.doubles(row.getJsonObject("base_evaluation")), row.getString("artifact_kind"),
                row.getString("artifact_hash"), row.getLong("artifact_bytes"), files, row.getString("key_name"),
                row.getString("wrapped_key"), SqlValues.instant(row.getOffsetDateTime("created_at")),
                row.getString("trained_by_user_id"), row.getString("trained_by_username"),
                row.getString("reviewed_by_user_id"), row.getString("reviewed_by_username"),
                row.getString("review_comment"), SqlValues.instant(row.getOffsetDateTime("reviewed_at")));
    }
}
