/** The training-service's gRPC API (contract {@code loupe.training.v1}). */
package dev.loupe.training.grpc;
