package dev.loupe.gateway.grpc;

import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

import io.grpc.Context;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.UniEmitter;

/**
 * A client-streaming gRPC call fed from a {@link Multi} at the pace the connection takes: the next item is
 * requested only while the call is ready for more (gRPC flow control), so an upload of any size holds a few
 * messages in memory.
 *
 * <p>
 * The Mutiny stubs that Quarkus generates request every item of the Multi at once and let gRPC buffer what
 * the connection cannot take yet: for a 2 GB import that would be 2 GB of memory. This class drives the
 * plain asynchronous stub instead.
 *
 * <p>
 * If the Multi fails, the call is cancelled (the service sees {@code CANCELLED} and discards what it received)
 * and the Uni fails with the Multi's failure. If the call fails first, the Multi is cancelled and the Uni fails
 * with the call's status. Cancelling the Uni cancels both.
 */
public final class FlowControlledUpload<I, O> {
    private final UniEmitter<? super O> emitter;
    private final AtomicReference<Flow.Subscription> upstream = new AtomicReference<>();
    private final AtomicBoolean itemRequested = new AtomicBoolean();
    private volatile ClientCallStreamObserver<I> requests;

    private FlowControlledUpload(UniEmitter<? super O> emitter) {
        this.emitter = emitter;
    }

    /**
     * Starts the call and feeds it the items.
     *
     * @param call starts the call on an asynchronous stub, e.g. {@code stub::importRecords}
     */
    public static <I, O> Uni<O> send(Multi<I> items, Function<StreamObserver<O>, StreamObserver<I>> call) {
        return Uni.createFrom().emitter(emitter -> {
            FlowControlledUpload<I, O> upload = new FlowControlledUpload<>(emitter);
            // Cancelling a context is the thread-safe way to cancel a call from outside its own callbacks.
            Context.CancellableContext context = Context.current().withCancellation();
            emitter.onTermination(() -> {
                upload.cancelUpstream();
                context.cancel(null);
            });
            context.run(() -> call.apply(upload.new Responses()));
            items.subscribe(upload.new Upstream());
        });
    }

    private void requestIfReady() {
        Flow.Subscription subscription = upstream.get();
        if (subscription != null && subscription != CANCELLED && requests.isReady()
                && itemRequested.compareAndSet(false, true)) {
            subscription.request(1);
        }
    }

    private void cancelUpstream() {
        Flow.Subscription subscription = upstream.getAndSet(CANCELLED);
        if (subscription != null && subscription != CANCELLED) {
            subscription.cancel();
        }
    }

    /** Receives the items; its signals are serial, so it alone writes to the call. */
    private final class Upstream implements Flow.Subscriber<I> {
        @Override
        public void onSubscribe(Flow.Subscription subscription) {
            if (!upstream.compareAndSet(null, subscription)) {
                subscription.cancel();
                return;
            }
            requestIfReady();
        }

        @Override
        public void onNext(I item) {
            requests.onNext(item);
            itemRequested.set(false);
            requestIfReady();
        }

        @Override
        public void onError(Throwable failure) {
            // Fail first: cancelling the call reports CANCELLED, which must not stand in for the real cause.
            emitter.fail(failure);
            requests.onError(failure);
        }

        @Override
        public void onComplete() {
            requests.onCompleted();
        }
    }

    /** Receives the call's answer, and its readiness for more items. */
    private final class Responses implements ClientResponseObserver<I, O> {
        private volatile O response;

        @Override
        public void beforeStart(ClientCallStreamObserver<I> stream) {
            requests = stream;
            stream.setOnReadyHandler(FlowControlledUpload.this::requestIfReady);
        }

        @Override
        public void onNext(O value) {
            response = value;
        }

        @Override
        public void onError(Throwable failure) {
            cancelUpstream();
            emitter.fail(failure);
        }

        @Override
        public void onCompleted() {
            emitter.complete(response);
        }
    }

    private static final Flow.Subscription CANCELLED = new Flow.Subscription() {
        @Override
        public void request(long n) {
        }

        @Override
        public void cancel() {
        }
    };
}
