package dev.loupe.gateway.api;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.training.v1.Lineage;
import dev.loupe.contracts.training.v1.ModelVersion;
import dev.loupe.contracts.training.v1.ModelVersionState;
import dev.loupe.support.grpc.ProtoStructs;
import dev.loupe.support.grpc.ProtoTime;

/**
 * A fine-tuned model version as the REST API shows it: what a succeeded job trained, with its lineage down to the
 * dataset version's manifest, and where it stands in review.
 *
 * @param type always {@code fine_tuned}, as opposed to the platform's base models in the same list
 * @param name {@code <base model>:<suffix or "ft">:<first 8 characters of the id>}
 * @param jobId id of the fine-tuning job that trained it
 * @param status {@code candidate} until a compliance officer reviews it
 * @param evaluation loss, token_accuracy, exact_match and examples on the validation split; empty when the job did
 *        not evaluate
 * @param baseEvaluation the same measures of the base model
 * @param artifactKind {@code adapter} (PEFT layout) or {@code full} (a Hugging Face folder)
 * @param artifactHash SHA-256 over the artifact's files as the worker wrote them
 * @param reviewedBy the compliance officer who last reviewed it; null until then
 * @param reviewComment the reviewer's comment; null when none was given
 * @param reviewedAt null until reviewed
 */
@Schema(name = "ModelVersion")
public record ModelVersionView(String id, String object, @Schema(enumeration = TYPE) String type, String name,
        String jobId,
        @Schema(enumeration = {
                "candidate", "approved", "quarantined", "erased", "retired"}) String status,
        LineageView lineage, Map<String, Double> evaluation, Map<String, Double> baseEvaluation,
        @Schema(enumeration = {
                "adapter", "full"}) String artifactKind,
        String artifactHash, long artifactBytes, Instant createdAt, ActorView trainedBy, ActorView reviewedBy,
        String reviewComment, Instant reviewedAt) implements ModelView {

    /** The {@code type} of a fine-tuned model version. */
    public static final String TYPE = "fine_tuned";

    /** Whole doubles up to this magnitude are exact as longs; larger ones stay doubles. */
    private static final double EXACT_WHOLE = 1L << 53;

    /**
     * What the version was trained from and how.
     *
     * @param baseModel id of the base model
     * @param baseModelHash the base model's content hash when the job trained
     * @param datasetVersion id of the dataset version trained on
     * @param manifestHash the dataset version's manifest hash: exactly which records it holds
     * @param codeVersion version of the Loupe engine that trained it
     * @param config the job's method and hyperparameters, defaults filled in
     * @param trainedRecordCount records whose examples it was trained on
     * @param validationRecordCount records it was evaluated on
     * @param hardware where it was trained: os, arch, cpus, java, worker heap
     */
    @Schema(name = "ModelLineage")
    public record LineageView(String baseModel, String baseModelHash, String datasetId, String datasetVersion,
            String manifestHash, String codeVersion, long seed, Map<String, Object> config, long trainedRecordCount,
            long validationRecordCount, Map<String, String> hardware) {

        static LineageView of(Lineage lineage) {
            return new LineageView(lineage.getBaseModelId(), lineage.getBaseModelHash(), lineage.getDatasetId(),
                    lineage.getDatasetVersionId(), lineage.getManifestHash(), lineage.getCodeVersion(),
                    lineage.getSeed(), wholeNumbers(ProtoStructs.toJava(lineage.getConfig())),
                    lineage.getTrainedRecordCount(), lineage.getValidationRecordCount(), lineage.getHardwareMap());
        }
    }

    public static ModelVersionView of(ModelVersion version) {
        return new ModelVersionView(version.getId(), "model", TYPE, version.getName(), version.getJobId(),
                statusName(version.getState()), LineageView.of(version.getLineage()), version.getEvaluationMap(),
                version.getBaseEvaluationMap(), emptyToNull(version.getArtifactKind()), version.getArtifactHash(),
                version.getArtifactBytes(), ProtoTime.toInstant(version.getCreatedAt()),
                ActorView.of(version.getTrainedBy()),
                !version.hasReviewedBy() || version.getReviewedBy().equals(Actor.getDefaultInstance())
                        ? null
                        : ActorView.of(version.getReviewedBy()),
                emptyToNull(version.getReviewComment()),
                version.hasReviewedAt() ? ProtoTime.toInstant(version.getReviewedAt()) : null);
    }

    /** The REST name of a state, as {@code status} shows it: a version waiting for review is a candidate. */
    public static String statusName(ModelVersionState state) {
        return switch (state) {
            case MODEL_VERSION_STATE_PENDING_REVIEW -> "candidate";
            case MODEL_VERSION_STATE_APPROVED, MODEL_VERSION_STATE_QUARANTINED, MODEL_VERSION_STATE_ERASED,
                    MODEL_VERSION_STATE_RETIRED ->
                JobView.suffix(state.name(), "MODEL_VERSION_STATE_");
            case MODEL_VERSION_STATE_UNSPECIFIED, UNRECOGNIZED -> null;
        };
    }

    /**
     * A struct's values with its whole numbers as longs. A struct holds every number as a double, so that the
     * config's {@code "epochs": 3} would otherwise come back as {@code 3.0}, unlike the job that set it.
     */
    @SuppressWarnings("unchecked")
    static Map<String, Object> wholeNumbers(Map<String, Object> struct) {
        return (Map<String, Object>) wholeNumber(struct);
    }

    private static Object wholeNumber(Object value) {
        if (value instanceof Double number && number == Math.rint(number) && Math.abs(number) <= EXACT_WHOLE) {
            return number.longValue();
        }
        if (value instanceof Map<?, ?> map) {
            Map<Object, Object> converted = new LinkedHashMap<>();
            map.forEach((key, field) -> converted.put(key, wholeNumber(field)));
            return converted;
        }
        if (value instanceof List<?> list) {
            return list.stream().map(ModelVersionView::wholeNumber).toList();
        }
        return value;
    }

    private static String emptyToNull(String value) {
        return value.isEmpty() ? null : value;
    }
}
