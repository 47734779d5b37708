package dev.loupe.serving.grpc;

import io.quarkus.grpc.GrpcService;

import dev.loupe.contracts.serving.v1.MutinyServingServiceGrpc;

/**
 * The serving-service's gRPC API (contract {@code loupe.serving.v1.ServingService}). No RPC is implemented yet:
 * the service runs so that its authentication, health and metrics work end to end, and every RPC is denied
 * by the role matrix ({@code PERMISSION_DENIED}) until it is implemented with its {@code @Authorized}
 * capability.
 */
@GrpcService
public class ServingGrpcService extends MutinyServingServiceGrpc.ServingServiceImplBase {
}
