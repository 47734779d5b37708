/** The governance-service's gRPC API (contract {@code loupe.governance.v1}). */
package dev.loupe.governance.grpc;
