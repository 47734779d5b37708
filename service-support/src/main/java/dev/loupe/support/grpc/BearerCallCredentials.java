package dev.loupe.support.grpc;

import java.util.concurrent.Executor;

import io.grpc.CallCredentials;
import io.grpc.Metadata;

/** Attaches a caller's bearer token (and request id) to an outgoing gRPC call. */
public final class BearerCallCredentials extends CallCredentials {
    private final String token;
    private final String requestId;

    public BearerCallCredentials(String token, String requestId) {
        this.token = token;
        this.requestId = requestId;
    }

    @Override
    public void applyRequestMetadata(RequestInfo requestInfo, Executor appExecutor, MetadataApplier applier) {
        Metadata headers = new Metadata();
        headers.put(GrpcHeaders.AUTHORIZATION, "Bearer " + token);
        if (requestId != null && !requestId.isBlank()) {
            headers.put(GrpcHeaders.REQUEST_ID, requestId);
        }
        applier.apply(headers);
    }
}
