package dev.loupe.support.testing;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The token abuse checks every service passes on its own gRPC port, without the gateway in front: no token,
 * forged tokens, an expired token, each answered {@code UNAUTHENTICATED}; a valid token gets through; the gRPC
 * health service needs no token. A service's test extends this and says which RPC to call.
 */
public abstract class GrpcAuthenticationContract {
    private static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization",
            Metadata.ASCII_STRING_MARSHALLER);

    protected ManagedChannel channel;

    /** The port the service under test listens on (its {@code quarkus.http.test-port}). */
    protected abstract int port();

    /**
     * Calls one RPC of the service on the given channel, which already carries the token under test. Throws the
     * call's {@link StatusRuntimeException} when it fails.
     */
    protected abstract void callAnRpc(io.grpc.Channel channel);

    /** The user whose real and forged tokens the checks use. */
    protected String authorizedUser() {
        return "acme-steward";
    }

    @BeforeEach
    void openChannel() {
        channel = ManagedChannelBuilder.forAddress("localhost", port()).usePlaintext().build();
    }

    @AfterEach
    void closeChannel() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    @Test
    void callWithoutTokenIsUnauthenticated() {
        assertEquals(Status.Code.UNAUTHENTICATED, codeOf(null));
    }

    @Test
    void callWithValidTokenIsAuthenticated() {
        // Authorization is each service's own test: here only that a valid token passes authentication.
        assertNotEquals(Status.Code.UNAUTHENTICATED, codeOf(KeycloakTokens.accessToken(authorizedUser())));
    }

    @TestFactory
    Stream<DynamicTest> forgedTokensAreUnauthenticated() {
        return ForgedTokens.cases(authorizedUser())
                .entrySet()
                .stream()
                .map(forged -> DynamicTest.dynamicTest(forged.getKey(),
                        () -> assertEquals(Status.Code.UNAUTHENTICATED, codeOf(forged.getValue().get()),
                                forged.getKey() + " token must be rejected")));
    }

    @Test
    void expiredTokenIsUnauthenticated() {
        String token = ForgedTokens.shortLived(authorizedUser());
        assertNotEquals(Status.Code.UNAUTHENTICATED, codeOf(token), "the token is valid before it expires");
        Awaitility.await()
                .atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(500))
                .until(() -> codeOf(token) == Status.Code.UNAUTHENTICATED);
    }

    @Test
    void healthServiceNeedsNoToken() throws IOException {
        // grpc.health.v1.Health/Check with an empty request (all services); the answer is status SERVING (1).
        MethodDescriptor<byte[], byte[]> check = MethodDescriptor.<byte[], byte[]>newBuilder()
                .setType(MethodDescriptor.MethodType.UNARY)
                .setFullMethodName("grpc.health.v1.Health/Check")
                .setRequestMarshaller(new RawMarshaller())
                .setResponseMarshaller(new RawMarshaller())
                .build();
        byte[] response = ClientCalls.blockingUnaryCall(channel, check, CallOptions.DEFAULT, new byte[0]);
        assertArrayEquals(new byte[]{0x08, 0x01}, response);
    }

    private Status.Code codeOf(String token) {
        io.grpc.Channel target = channel;
        if (token != null) {
            Metadata headers = new Metadata();
            headers.put(AUTHORIZATION, "Bearer " + token);
            target = io.grpc.ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers));
        }
        try {
            callAnRpc(target);
            return Status.Code.OK;
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode();
        }
    }

    /** Asserts that a call fails with the given code. */
    public static StatusRuntimeException assertFailsWith(Status.Code code, Runnable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::run);
        assertEquals(code, e.getStatus().getCode(), () -> "status " + e.getStatus());
        return e;
    }

    private static final class RawMarshaller implements MethodDescriptor.Marshaller<byte[]> {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
