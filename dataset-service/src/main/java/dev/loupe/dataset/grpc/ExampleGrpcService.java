package dev.loupe.dataset.grpc;

import java.util.concurrent.atomic.AtomicBoolean;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import org.jboss.logging.Logger;

import dev.loupe.contracts.dataset.v1.Example;
import dev.loupe.contracts.dataset.v1.ExampleServiceGrpc;
import dev.loupe.contracts.dataset.v1.StreamExamplesRequest;
import dev.loupe.dataset.service.ExampleStreamService;
import dev.loupe.support.error.GrpcProblems;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Caller;
import dev.loupe.support.security.Capability;

/**
 * The example stream for training, on grpc-java's own API rather than Mutiny's: Quarkus subscribes to a
 * server-streaming {@code Multi} with unbounded demand, which would decrypt a whole version into the call's
 * buffer ahead of a slow reader. Here the next page is decrypted only while the call is ready for more.
 */
@GrpcService
public class ExampleGrpcService extends ExampleServiceGrpc.ExampleServiceImplBase {
    private static final Logger LOG = Logger.getLogger(ExampleGrpcService.class);

    private final ExampleStreamService examples;

    public ExampleGrpcService(ExampleStreamService examples) {
        this.examples = examples;
    }

    @Override
    @Authorized(Capability.TRAINING_DATA_READ)
    public void streamExamples(StreamExamplesRequest request, StreamObserver<Example> responses) {
        Caller caller = Caller.current();
        ServerCallStreamObserver<Example> call = (ServerCallStreamObserver<Example>) responses;
        Pump pump = new Pump(call, request.getStartPosition());
        // Both handlers must be set before this method returns.
        call.setOnReadyHandler(pump::pump);
        call.setOnCancelHandler(() -> pump.done = true);
        Uni<ExampleStreamService.Scope> opened;
        try {
            opened = examples.open(caller, request);
        } catch (ProblemException e) {
            pump.fail(e);
            return;
        }
        opened.subscribe().with(scope -> {
            pump.scope = scope;
            pump.pump();
        }, pump::fail);
    }

    /**
     * Sends pages while the call is ready. One page is in flight at a time (the {@code busy} flag), and whoever
     * finds the call ready again (the page that just went out, or gRPC's on-ready callback) starts the next.
     */
    private final class Pump {
        private final ServerCallStreamObserver<Example> call;
        private final AtomicBoolean busy = new AtomicBoolean();
        private volatile ExampleStreamService.Scope scope;
        private volatile long next;
        private volatile boolean done;

        Pump(ServerCallStreamObserver<Example> call, long start) {
            this.call = call;
            this.next = start;
        }

        void pump() {
            if (scope == null || done || !call.isReady() || !busy.compareAndSet(false, true)) {
                return;
            }
            Uni.createFrom().item(() -> examples.page(scope, next))
                    .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
                    .subscribe().with(this::send, this::fail);
        }

        private void send(ExampleStreamService.Page page) {
            for (Example example : page.examples()) {
                if (done) {
                    return;
                }
                call.onNext(example);
                next = example.getPosition() + 1;
            }
            if (page.last()) {
                done = true;
                call.onCompleted();
                return;
            }
            busy.set(false);
            pump();
        }

        void fail(Throwable failure) {
            if (done) {
                return;
            }
            done = true;
            if (failure instanceof ProblemException problem) {
                call.onError(GrpcProblems.toStatus(problem));
            } else {
                LOG.error("The example stream failed", failure);
                call.onError(Status.INTERNAL.withDescription("the example stream failed").asRuntimeException());
            }
        }
    }
}
