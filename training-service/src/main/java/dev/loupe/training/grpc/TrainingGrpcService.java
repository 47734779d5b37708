package dev.loupe.training.grpc;

import io.quarkus.grpc.GrpcService;

import dev.loupe.contracts.training.v1.MutinyTrainingServiceGrpc;

/**
 * The training-service's gRPC API (contract {@code loupe.training.v1.TrainingService}). No RPC is implemented yet:
 * the service runs so that its authentication, health and metrics work end to end, and every RPC is denied
 * by the role matrix ({@code PERMISSION_DENIED}) until it is implemented with its {@code @Authorized}
 * capability.
 */
@GrpcService
public class TrainingGrpcService extends MutinyTrainingServiceGrpc.TrainingServiceImplBase {
}
