/** The dataset-service's gRPC API (contract {@code loupe.dataset.v1}). */
package dev.loupe.dataset.grpc;
