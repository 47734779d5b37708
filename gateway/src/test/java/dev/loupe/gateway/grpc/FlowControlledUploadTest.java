package dev.loupe.gateway.grpc;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.dataset.v1.DatasetServiceGrpc;
import dev.loupe.contracts.dataset.v1.Import;
import dev.loupe.contracts.dataset.v1.ImportChunk;
import dev.loupe.support.error.ProblemException;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The import upload against a real gRPC server on a local port: items are taken only as fast as the server takes
 * them, and a failure on either side ends both.
 */
class FlowControlledUploadTest {
    private static final ByteString PIECE = ByteString.copyFrom(new byte[ImportChunks.PIECE_BYTES]);
    private static final Duration WAIT = Duration.ofSeconds(10);

    /** What the fake dataset-service does with an import stream. */
    private volatile StreamObserverFactory behaviour;
    private Server server;
    private ManagedChannel channel;

    interface StreamObserverFactory {
        StreamObserver<ImportChunk> start(ServerCallStreamObserver<Import> response);
    }

    @BeforeEach
    void start() throws IOException {
        server = ServerBuilder.forPort(0).addService(new DatasetServiceGrpc.DatasetServiceImplBase() {
            @Override
            public StreamObserver<ImportChunk> importRecords(StreamObserver<Import> response) {
                return behaviour.start((ServerCallStreamObserver<Import>) response);
            }
        }).build().start();
        channel = ManagedChannelBuilder.forAddress("localhost", server.getPort()).usePlaintext().build();
    }

    @AfterEach
    void stop() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    @Test
    void takesItemsOnlyAsFastAsTheServerReadsThem() {
        int total = 2000;
        AtomicInteger received = new AtomicInteger();
        AtomicReference<ServerCallStreamObserver<Import>> paused = new AtomicReference<>();
        behaviour = response -> {
            // The server reads nothing until the test lets it.
            response.disableAutoRequest();
            paused.set(response);
            return new Collecting(response, received);
        };
        AtomicInteger produced = new AtomicInteger();
        Multi<ImportChunk> items = Multi.createFrom()
                .range(0, total)
                .map(i -> ImportChunk.newBuilder().setRecordsData(PIECE).build())
                .onItem()
                .invoke(produced::incrementAndGet)
                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool());

        var result = FlowControlledUpload.send(items, stub()::importRecords).subscribeAsCompletionStage();

        await().atMost(WAIT).until(() -> paused.get() != null && produced.get() > 0);
        // Flow control lets about one HTTP/2 window through (1 MiB, 16 pieces; at most 8 MiB if gRPC's window
        // tuning grows it); without it all 2000 pieces would be taken at once.
        await().during(Duration.ofMillis(500)).atMost(WAIT).until(() -> produced.get() < 300);

        paused.get().request(Integer.MAX_VALUE);
        Import done = Uni.createFrom().completionStage(result).await().atMost(WAIT);
        assertEquals("import-1", done.getId());
        assertEquals(total, received.get());
        assertEquals(total, produced.get());
    }

    @Test
    void failingItemsCancelTheCallAndFailWithTheirOwnProblem() {
        AtomicReference<Status> serverSaw = new AtomicReference<>();
        behaviour = response -> new StreamObserver<>() {
            @Override
            public void onNext(ImportChunk chunk) {
            }

            @Override
            public void onError(Throwable failure) {
                serverSaw.set(Status.fromThrowable(failure));
            }

            @Override
            public void onCompleted() {
                response.onNext(Import.newBuilder().setId("should-not-complete").build());
                response.onCompleted();
            }
        };
        ProblemException badZip = ProblemException.invalid("images", "image file 'a.png' is larger than the limit");
        Multi<ImportChunk> items = Multi.createBy()
                .concatenating()
                .streams(Multi.createFrom().items(piece(), piece(), piece()), Multi.createFrom().failure(badZip))
                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool());

        ProblemException failure = assertThrows(ProblemException.class,
                () -> FlowControlledUpload.send(items, stub()::importRecords).await().atMost(WAIT));

        assertSame(badZip, failure);
        await().atMost(WAIT).until(() -> serverSaw.get() != null);
        assertEquals(Status.Code.CANCELLED, serverSaw.get().getCode());
    }

    @Test
    void serverFailureStopsTakingItemsAndFailsWithItsStatus() {
        behaviour = response -> new StreamObserver<>() {
            @Override
            public void onNext(ImportChunk chunk) {
                response.onError(Status.INVALID_ARGUMENT.withDescription("no such format").asRuntimeException());
            }

            @Override
            public void onError(Throwable failure) {
            }

            @Override
            public void onCompleted() {
            }
        };
        AtomicBoolean cancelled = new AtomicBoolean();
        AtomicInteger produced = new AtomicInteger();
        Multi<ImportChunk> endless = Multi.createFrom()
                .range(0, Integer.MAX_VALUE)
                .map(i -> piece())
                .onItem()
                .invoke(produced::incrementAndGet)
                .onCancellation()
                .invoke(() -> cancelled.set(true))
                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool());

        StatusRuntimeException failure = assertThrows(StatusRuntimeException.class,
                () -> FlowControlledUpload.send(endless, stub()::importRecords).await().atMost(WAIT));

        assertEquals(Status.Code.INVALID_ARGUMENT, failure.getStatus().getCode());
        await().atMost(WAIT).untilTrue(cancelled);
        assertTrue(produced.get() < 1000, "items taken after the failure: " + produced.get());
    }

    private DatasetServiceGrpc.DatasetServiceStub stub() {
        return DatasetServiceGrpc.newStub(channel);
    }

    private static ImportChunk piece() {
        return ImportChunk.newBuilder().setRecordsData(PIECE).build();
    }

    /** Counts what arrives and answers when the stream ends. */
    private static final class Collecting implements StreamObserver<ImportChunk> {
        private final ServerCallStreamObserver<Import> response;
        private final AtomicInteger received;

        Collecting(ServerCallStreamObserver<Import> response, AtomicInteger received) {
            this.response = response;
            this.received = received;
        }

        @Override
        public void onNext(ImportChunk chunk) {
            received.incrementAndGet();
        }

        @Override
        public void onError(Throwable failure) {
        }

        @Override
        public void onCompleted() {
            response.onNext(Import.newBuilder().setId("import-1").build());
            response.onCompleted();
        }
    }
}
