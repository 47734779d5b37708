/**
 * gRPC plumbing every service shares: the authenticating interceptor, the RPC half of the role matrix, and
 * the credentials a caller's token travels in.
 */
package dev.loupe.support.grpc;
