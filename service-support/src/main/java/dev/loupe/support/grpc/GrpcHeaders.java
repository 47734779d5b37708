package dev.loupe.support.grpc;

import io.grpc.Metadata;

/** The metadata keys Loupe's services exchange. */
public final class GrpcHeaders {
    /** The caller's bearer token, forwarded unchanged from the REST request. */
    public static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization",
            Metadata.ASCII_STRING_MARSHALLER);
    /** The id of the request that caused this call, for audit records and logs. */
    public static final Metadata.Key<String> REQUEST_ID = Metadata.Key.of("x-request-id",
            Metadata.ASCII_STRING_MARSHALLER);

    private GrpcHeaders() {
    }
}
