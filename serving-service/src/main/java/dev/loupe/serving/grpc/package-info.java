/** The serving-service's gRPC API (contract {@code loupe.serving.v1}). */
package dev.loupe.serving.grpc;
