package dev.loupe.training.grpc;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.training.v1.Lineage;
import dev.loupe.contracts.training.v1.ModelVersion;
import dev.loupe.contracts.training.v1.ModelVersionState;
import dev.loupe.support.audit.AuditEvents;
import dev.loupe.support.grpc.ProtoTime;

/** Model versions as the contract writes them. */
final class ModelVersionProtos {
    private ModelVersionProtos() {
    }

    static ModelVersion version(dev.loupe.training.model.ModelVersion version) {
        ModelVersion.Builder built = ModelVersion.newBuilder()
                .setId(version.id())
                .setName(version.name())
                .setJobId(version.jobId())
                .setState(state(version.state()))
                .setLineage(Lineage.newBuilder()
                        .setBaseModelId(version.baseModelId())
                        .setBaseModelHash(version.baseModelHash())
                        .setDatasetId(version.datasetId())
                        .setDatasetVersionId(version.datasetVersionId())
                        .setManifestHash(version.manifestHash())
                        .setCodeVersion(version.codeVersion())
                        .setSeed(version.seed())
                        .setConfig(AuditEvents.struct(version.config()))
                        .setTrainedRecordCount(version.trainedRecordCount())
                        .setValidationRecordCount(version.validationRecordCount())
                        .putAllHardware(version.hardware()))
                .putAllEvaluation(version.evaluation())
                .putAllBaseEvaluation(version.baseEvaluation())
                .setCreatedAt(ProtoTime.of(version.createdAt()))
                .setTrainedBy(Actor.newBuilder()
                        .setUserId(version.trainedByUserId())
                        .setUsername(version.trainedByUsername()))
                .setReviewComment(version.reviewComment())
                .setArtifactKind(version.artifactKind())
                .setArtifactHash(version.artifactHash())
                .setArtifactBytes(version.artifactBytes());
        if (!version.reviewedByUserId().isEmpty()) {
            built.setReviewedBy(Actor.newBuilder()
                    .setUserId(version.reviewedByUserId())
                    .setUsername(version.reviewedByUsername()));
        }
        if (version.reviewedAt() != null) {
            built.setReviewedAt(ProtoTime.of(version.reviewedAt()));
        }
        return built.build();
    }

    static ModelVersionState state(String state) {
        return switch (state) {
            case dev.loupe.training.model.ModelVersion.APPROVED -> ModelVersionState.MODEL_VERSION_STATE_APPROVED;
            case dev.loupe.training.model.ModelVersion.QUARANTINED -> ModelVersionState.MODEL_VERSION_STATE_QUARANTINED;
            case dev.loupe.training.model.ModelVersion.RETIRED -> ModelVersionState.MODEL_VERSION_STATE_RETIRED;
            case "erased" -> ModelVersionState.MODEL_VERSION_STATE_ERASED;
            default -> ModelVersionState.MODEL_VERSION_STATE_PENDING_REVIEW;
        };
    }
}
