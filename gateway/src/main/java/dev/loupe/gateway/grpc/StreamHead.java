package dev.loupe.gateway.grpc;

import java.util.NoSuchElementException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.operators.multi.processors.UnicastProcessor;

/**
 * A stream whose first item has arrived, so that what it says (an image's media type) can go into response
 * headers before the body starts, and a failure before it (NOT_FOUND) can still become an error response.
 *
 * @param first the first item
 * @param all every item, the first included, from the one subscription to the source; subscribe once
 */
public record StreamHead<T>(T first, Multi<T> all) {

    /**
     * Subscribes to the source and waits for its first item. The Uni fails with the source's failure when it
     * fails before any item, and with {@link NoSuchElementException} when it ends empty. Cancelling the Uni, or
     * the {@link #all()} stream, cancels the source. The source is taken as fast as it comes and what is not
     * written yet waits in memory: fit for a stream of bounded size, such as one image.
     */
    public static <T> Uni<StreamHead<T>> of(Multi<T> source) {
        return Uni.createFrom().emitter(emitter -> {
            AtomicReference<Flow.Subscription> upstream = new AtomicReference<>();
            AtomicBoolean headSeen = new AtomicBoolean();
            Runnable cancelSource = () -> {
                Flow.Subscription subscription = upstream.getAndSet(null);
                if (subscription != null) {
                    subscription.cancel();
                }
            };
            UnicastProcessor<T> rest = UnicastProcessor.create(new ConcurrentLinkedQueue<>(), cancelSource);
            emitter.onTermination(() -> {
                if (!headSeen.get()) {
                    cancelSource.run();
                }
            });
            source.subscribe().with(subscription -> {
                upstream.set(subscription);
                subscription.request(Long.MAX_VALUE);
            }, item -> {
                if (headSeen.compareAndSet(false, true)) {
                    emitter.complete(new StreamHead<>(item,
                            Multi.createBy().concatenating().streams(Multi.createFrom().item(item), rest)));
                } else {
                    rest.onNext(item);
                }
            }, failure -> {
                if (headSeen.get()) {
                    rest.onError(failure);
                } else {
                    emitter.fail(failure);
                }
            }, () -> {
                if (headSeen.get()) {
                    rest.onComplete();
                } else {
                    emitter.fail(new NoSuchElementException("the stream ended without an item"));
                }
            });
        });
    }
}
