package dev.loupe.training.registry;

import java.io.IOException;
import java.io.OutputStream;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.SqlClient;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.support.audit.AuditEvents;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.id.Ids;
import dev.loupe.support.security.Caller;
import dev.loupe.training.config.TrainingConfig;
import dev.loupe.training.model.Job;
import dev.loupe.training.model.ModelVersion;
import dev.loupe.training.repository.JobRepository;
import dev.loupe.training.repository.ModelVersionRepository;
import dev.loupe.training.repository.OutboxRepository;
import dev.loupe.training.service.BaseModelService;
import dev.loupe.training.service.Page;

/**
 * The registry of fine-tuned model versions. A succeeded job registers its version as a candidate
 * ({@code pending_review}) with its lineage; a compliance officer of the tenant who did not start that job approves
 * or quarantines it (four eyes); an approved version can be retired. The weights can be exported, decrypted, by
 * those who may manage jobs; every review and export is audited.
 */
@ApplicationScoped
public class ModelVersionService {
    static final String REGISTERED = "model.version.registered";
    static final String APPROVED = "model.version.approved";
    static final String QUARANTINED = "model.version.quarantined";
    static final String RETIRED = "model.version.retired";
    static final String EXPORTED = "model.version.exported";
    static final String LOADED_FOR_SERVING = "model.version.loaded_for_serving";
    private static final int MAX_COMMENT = 1000;
    private static final int MAX_RECORD_HASHES = 1000;

    private final ModelVersionRepository versions;
    private final OutboxRepository outbox;
    private final ModelArtifacts artifacts;
    private final TrainingConfig config;
    private final String codeVersion;

    public ModelVersionService(ModelVersionRepository versions, OutboxRepository outbox, ModelArtifacts artifacts,
            TrainingConfig config, @ConfigProperty(name = "quarkus.application.version") String codeVersion) {
        this.versions = versions;
        this.outbox = outbox;
        this.artifacts = artifacts;
        this.config = config;
        this.codeVersion = codeVersion;
    }

    /** A new version id, for the files sealed before the version is recorded. */
    public static String newId() {
        return Ids.newId().toString();
    }

    /** The version a succeeded job trained, with its lineage. */
    public ModelVersion candidate(String id, Job job, ModelArtifacts.Sealed sealed, long trainedRecords,
            long validationRecords) {
        Map<String, Object> jobConfig = new LinkedHashMap<>();
        jobConfig.put("method", job.method());
        jobConfig.put("hyperparameters", job.hyperparameters());
        Map<String, String> hardware = new LinkedHashMap<>();
        hardware.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        hardware.put("arch", System.getProperty("os.arch"));
        hardware.put("cpus", Integer.toString(Runtime.getRuntime().availableProcessors()));
        hardware.put("java", System.getProperty("java.version"));
        hardware.put("executor", "local");
        hardware.put("worker_max_heap", config.worker().maxHeap());
        hardware.put("worker_threads", config.worker().threads() == 0
                ? "libtorch default"
                : Integer.toString(config.worker().threads()));
        String kind = "full".equals(job.method().get("type")) ? "full" : "adapter";
        String name = job.baseModelId() + ":" + (job.suffix().isEmpty() ? "ft" : job.suffix()) + ":"
                + id.substring(0, 8);
        return new ModelVersion(id, job.tenant(), name, job.id(), ModelVersion.PENDING_REVIEW, job.baseModelId(),
                job.baseModelHash(), job.datasetId(), job.datasetVersionId(), job.manifestHash(),
                "loupe " + codeVersion, job.seed(), jobConfig, hardware, trainedRecords, validationRecords,
                job.evaluation(), job.baseEvaluation(), kind, sealed.hash(), sealed.bytes(), sealed.files(),
                sealed.keyName(), sealed.wrappedKey(), JobRepository.micros(Instant.now()), job.createdByUserId(),
                job.createdByUsername(), "", "", "", null);
    }

    /** Records a candidate, what it saw and its audit event; in the transaction that ends its job. */
    public Uni<Void> register(SqlClient tx, ModelVersion version, List<String> trainRecordHashes,
            List<String> validationRecordHashes) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("name", version.name());
        details.put("job_id", version.jobId());
        details.put("base_model", version.baseModelId());
        details.put("dataset_version_id", version.datasetVersionId());
        details.put("manifest_hash", version.manifestHash());
        details.put("artifact_hash", version.artifactHash());
        details.put("trained_record_count", version.trainedRecordCount());
        details.put("trained_by", version.trainedByUsername());
        return versions.insert(tx, version)
                .chain(() -> versions.addRecords(tx, version.id(), "train", trainRecordHashes))
                .chain(() -> versions.addRecords(tx, version.id(), "validation", validationRecordHashes))
                .chain(() -> outbox.add(tx, AuditEvents.bySystem(BaseModelService.AUDIT_SOURCE, version.tenant(),
                        REGISTERED, "model_version", version.id(), Outcome.OUTCOME_SUCCESS, details)));
    }

    public Uni<ModelVersion> get(Caller caller, String id) {
        return versions.get(versions.pool(), caller.requireTenant(), id)
                .map(found -> found.orElseThrow(() -> ProblemException.notFound("model version", id)));
    }

    public Uni<Page<ModelVersion>> list(Caller caller, int limit, String after) {
        int size = config.pagination().pageSize(limit);
        if (!after.isEmpty() && Ids.parse(after).isEmpty()) {
            throw ProblemException.invalid("after", "after must be the next_after of a previous page");
        }
        return versions.list(caller.requireTenant(), after, size + 1)
                .map(found -> Page.of(found, size, ModelVersion::id));
    }

    public Uni<ModelVersion> approve(Caller caller, String id, String comment) {
        return review(caller, id, comment, Set.of(ModelVersion.PENDING_REVIEW), ModelVersion.APPROVED, APPROVED,
                "approved");
    }

    public Uni<ModelVersion> quarantine(Caller caller, String id, String comment) {
        if (comment.isBlank()) {
            throw ProblemException.invalid("comment", "comment is required to quarantine: say why, for the audit"
                    + " trail");
        }
        return review(caller, id, comment,
                Set.of(ModelVersion.PENDING_REVIEW, ModelVersion.APPROVED, ModelVersion.RETIRED),
                ModelVersion.QUARANTINED, QUARANTINED, "quarantined");
    }

    public Uni<ModelVersion> retire(Caller caller, String id, String comment) {
        return review(caller, id, comment, Set.of(ModelVersion.APPROVED), ModelVersion.RETIRED, RETIRED, "retired");
    }

    private Uni<ModelVersion> review(Caller caller, String id, String comment, Set<String> from, String to,
            String action, String verb) {
        String tenant = caller.requireTenant();
        if (comment.length() > MAX_COMMENT || comment.chars().anyMatch(c -> c < 0x20 && c != '\n')) {
            throw ProblemException.invalid("comment", "comment must be at most " + MAX_COMMENT
                    + " characters without control characters");
        }
        // A refused review is audited too: the transaction commits its event, and the refusal is answered after.
        return versions.pool().withTransaction(tx -> versions.lock(tx, tenant, id).chain(found -> {
            ModelVersion version = found.orElseThrow(() -> ProblemException.notFound("model version", id));
            if (version.trainedByUserId().equals(caller.userId())) {
                ProblemException refused = new ProblemException(ProblemType.FORBIDDEN, "you started the job that"
                        + " trained " + version.name() + ": another compliance officer must review it");
                return outbox.add(tx, AuditEvents.byCaller(caller, BaseModelService.AUDIT_SOURCE, action,
                        "model_version", id, Outcome.OUTCOME_DENIED, Map.of("reason", "four eyes: the reviewer"
                                + " started the job that trained it")))
                        .replaceWith(new Review(null, refused));
            }
            if (!from.contains(version.state())) {
                return Uni.createFrom().failure(new ProblemException(ProblemType.CONFLICT, "model version "
                        + version.name() + " is " + version.state() + " and cannot be " + verb));
            }
            ModelVersion reviewed = version.reviewed(to, caller.userId(), caller.username(), comment,
                    JobRepository.micros(Instant.now()));
            return versions.updateReview(tx, reviewed)
                    .chain(() -> outbox.add(tx, AuditEvents.byCaller(caller, BaseModelService.AUDIT_SOURCE, action,
                            "model_version", id, Outcome.OUTCOME_SUCCESS, Map.of("name", version.name(),
                                    "previous_state", version.state(), "comment", comment))))
                    .replaceWith(new Review(reviewed, null));
        })).map(review -> {
            if (review.refused() != null) {
                throw review.refused();
            }
            return review.version();
        });
    }

    /** What a review came to: the reviewed version, or the refusal to answer once its audit event is committed. */
    private record Review(ModelVersion version, ProblemException refused) {
    }

    /**
     * Checks that the caller may export the version (an approved or retired one) and records the export; the
     * caller then writes the archive with {@link #writeArchive}.
     */
    public Uni<ModelVersion> startExport(Caller caller, String id) {
        String tenant = caller.requireTenant();
        return versions.pool().withTransaction(tx -> versions.get(tx, tenant, id).chain(found -> {
            ModelVersion version = found.orElseThrow(() -> ProblemException.notFound("model version", id));
            // Weights leave Loupe only once a compliance officer has approved them (retired ones were approved);
            // a candidate's, a quarantined one's or an erased one's do not.
            if (!version.state().equals(ModelVersion.APPROVED) && !version.state().equals(ModelVersion.RETIRED)) {
                return Uni.createFrom().failure(new ProblemException(ProblemType.CONFLICT, "model version "
                        + version.name() + " is " + version.state() + ": only approved versions are exported"));
            }
            return outbox.add(tx, AuditEvents.byCaller(caller, BaseModelService.AUDIT_SOURCE, EXPORTED,
                    "model_version", id, Outcome.OUTCOME_SUCCESS, Map.of("name", version.name(), "artifact_hash",
                            version.artifactHash())))
                    .replaceWith(version);
        }));
    }

    /**
     * Checks that a service may load the tenant's version to serve it (an approved one) and records the load, naming
     * the service, the user it acts for and the deployment; the caller then writes the archive with
     * {@link #writeArchive}.
     */
    public Uni<ModelVersion> startLoadForServing(Caller service, String tenant, String id, String deploymentId,
            Actor onBehalfOf) {
        if (tenant.isEmpty()) {
            throw ProblemException.invalid("tenant", "tenant is required: the tenant the calling service acts for");
        }
        return versions.pool().withTransaction(tx -> versions.get(tx, tenant, id).chain(found -> {
            ModelVersion version = found.orElseThrow(() -> ProblemException.notFound("model version", id));
            if (!version.state().equals(ModelVersion.APPROVED)) {
                return Uni.createFrom().failure(new ProblemException(ProblemType.CONFLICT, "model version "
                        + version.name() + " is " + version.state() + ": only approved versions are deployed"));
            }
            return outbox.add(tx, AuditEvents.onBehalfOf(service, tenant, onBehalfOf, BaseModelService.AUDIT_SOURCE,
                    LOADED_FOR_SERVING, "model_version", id, Outcome.OUTCOME_SUCCESS, Map.of("name", version.name(),
                            "artifact_hash", version.artifactHash(), "deployment_id", deploymentId)))
                    .replaceWith(version);
        }));
    }

    /** The states of those of the ids that are the tenant's versions. */
    public Uni<Map<String, String>> states(String tenant, List<String> ids) {
        if (tenant.isEmpty()) {
            throw ProblemException.invalid("tenant", "tenant is required: the tenant the calling service acts for");
        }
        if (ids.isEmpty() || ids.size() > MAX_RECORD_HASHES) {
            throw ProblemException.invalid("model_version_ids", "model_version_ids must hold 1 to "
                    + MAX_RECORD_HASHES + " ids");
        }
        return versions.states(tenant, ids);
    }

    /** Writes the version's files, decrypted, as a zip archive. Blocking. */
    public void writeArchive(ModelVersion version, OutputStream out) throws IOException {
        artifacts.writeZip(version.tenant(), version.id(), version.keyName(), version.wrappedKey(),
                version.artifactFiles(), out);
    }

    /** The tenant's versions trained or evaluated on any of the records. */
    public Uni<List<ModelVersion>> trainedOn(String tenant, List<String> recordHashes, String datasetId) {
        if (tenant.isEmpty()) {
            throw ProblemException.invalid("tenant", "tenant is required: the tenant the calling service acts for");
        }
        if (recordHashes.isEmpty() || recordHashes.size() > MAX_RECORD_HASHES) {
            throw ProblemException.invalid("record_hashes", "record_hashes must hold 1 to " + MAX_RECORD_HASHES
                    + " hashes");
        }
        return versions.trainedOn(tenant, recordHashes, datasetId);
    }
}
