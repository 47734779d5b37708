package dev.loupe.governance.grpc;

import io.quarkus.grpc.GrpcService;

import dev.loupe.contracts.governance.v1.MutinyAuditServiceGrpc;

/**
 * The governance-service's gRPC API (contract {@code loupe.governance.v1.AuditService}). No RPC is implemented yet:
 * the service runs so that its authentication, health and metrics work end to end, and every RPC is denied
 * by the role matrix ({@code PERMISSION_DENIED}) until it is implemented with its {@code @Authorized}
 * capability.
 */
@GrpcService
public class AuditGrpcService extends MutinyAuditServiceGrpc.AuditServiceImplBase {
}
