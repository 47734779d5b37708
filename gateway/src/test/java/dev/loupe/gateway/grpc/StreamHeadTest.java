package dev.loupe.gateway.grpc;

import java.time.Duration;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.helpers.test.AssertSubscriber;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The first item of a stream known before the response starts, and the whole stream from one subscription. */
class StreamHeadTest {
    private static final Duration WAIT = Duration.ofSeconds(5);

    @Test
    void firstItemThenTheWholeStreamFromOneSubscription() {
        AtomicInteger subscriptions = new AtomicInteger();
        Multi<String> source = Multi.createFrom()
                .items("image/png", "b", "c")
                .onSubscription()
                .invoke(subscriptions::incrementAndGet);

        StreamHead<String> head = StreamHead.of(source).await().atMost(WAIT);

        assertEquals("image/png", head.first());
        AssertSubscriber<String> all = head.all().subscribe().withSubscriber(AssertSubscriber.create(10));
        all.awaitCompletion();
        assertEquals(List.of("image/png", "b", "c"), all.getItems());
        assertEquals(1, subscriptions.get());
    }

    @Test
    void failureBeforeTheFirstItemFailsTheHead() {
        StatusRuntimeException notFound = Status.NOT_FOUND.asRuntimeException();

        StatusRuntimeException failure = assertThrows(StatusRuntimeException.class,
                () -> StreamHead.of(Multi.createFrom().<String>failure(notFound)).await().atMost(WAIT));

        assertSame(notFound, failure);
    }

    @Test
    void emptyStreamFailsTheHead() {
        assertThrows(NoSuchElementException.class,
                () -> StreamHead.of(Multi.createFrom().<String>empty()).await().atMost(WAIT));
    }

    @Test
    void failureAfterTheFirstItemFailsTheStream() {
        IllegalStateException broken = new IllegalStateException("broken");
        Multi<String> source = Multi.createBy()
                .concatenating()
                .streams(Multi.createFrom().items("a", "b"), Multi.createFrom().failure(broken));

        StreamHead<String> head = StreamHead.of(source).await().atMost(WAIT);
        AssertSubscriber<String> all = head.all().subscribe().withSubscriber(AssertSubscriber.create(10));

        all.awaitFailure();
        assertEquals(List.of("a", "b"), all.getItems());
        assertSame(broken, all.getFailure());
    }

    @Test
    void cancellingTheStreamCancelsTheSource() {
        AtomicBoolean cancelled = new AtomicBoolean();
        Multi<String> endless = Multi.createFrom().<String>emitter(emitter -> {
            emitter.emit("a");
            emitter.emit("b");
        }).onCancellation().invoke(() -> cancelled.set(true));

        StreamHead<String> head = StreamHead.of(endless).await().atMost(WAIT);
        AssertSubscriber<String> all = head.all().subscribe().withSubscriber(AssertSubscriber.create(10));
        all.awaitItems(2);
        all.cancel();

        assertTrue(cancelled.get());
    }
}
