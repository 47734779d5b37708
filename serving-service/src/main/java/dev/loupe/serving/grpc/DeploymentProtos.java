package dev.loupe.serving.grpc;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.serving.v1.Deployment;
import dev.loupe.contracts.serving.v1.DeploymentOptions;
import dev.loupe.contracts.serving.v1.DeploymentState;
import dev.loupe.support.grpc.ProtoTime;

/** Deployments as the contract shows them. */
final class DeploymentProtos {
    private DeploymentProtos() {
    }

    static Deployment deployment(dev.loupe.serving.model.Deployment deployment) {
        return Deployment.newBuilder()
                .setId(deployment.id())
                .setName(deployment.name())
                .setModelVersionId(deployment.modelVersionId())
                .setModelVersionName(deployment.modelVersionName())
                .setBaseModelId(deployment.baseModelId())
                .setOptions(DeploymentOptions.newBuilder()
                        .setMaxBatchSize(deployment.maxBatchSize())
                        .setMaxConcurrentSequences(deployment.maxConcurrentSequences())
                        .setCacheEnabled(deployment.cacheEnabled())
                        .setEvaluationSchedule(deployment.evaluationSchedule())
                        .setEvaluationDatasetVersionId(deployment.evaluationDatasetVersionId()))
                .setState(state(deployment.state()))
                .setFailureReason(deployment.failureReason())
                .setCreatedAt(ProtoTime.of(deployment.createdAt()))
                .setCreatedBy(Actor.newBuilder()
                        .setUserId(deployment.createdByUserId())
                        .setUsername(deployment.createdByUsername()))
                .build();
    }

    private static DeploymentState state(String state) {
        return switch (state) {
            case dev.loupe.serving.model.Deployment.READY -> DeploymentState.DEPLOYMENT_STATE_READY;
            case dev.loupe.serving.model.Deployment.SUSPENDED -> DeploymentState.DEPLOYMENT_STATE_SUSPENDED;
            default -> DeploymentState.DEPLOYMENT_STATE_FAILED;
        };
    }
}
