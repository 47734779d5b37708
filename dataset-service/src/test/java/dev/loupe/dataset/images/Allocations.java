package dev.loupe.dataset.images;

import java.lang.management.ManagementFactory;

import com.sun.management.ThreadMXBean;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Counts the bytes the current thread allocates (HotSpot's per-thread counter): garbage included. */
final class Allocations {
    @FunctionalInterface
    interface Action {
        void run() throws Exception;
    }

    private Allocations() {
    }

    /** The bytes {@code action} allocated on this thread; skips the test where the JVM cannot count them. */
    static long allocatedBy(Action action) throws Exception {
        ThreadMXBean bean = ManagementFactory.getThreadMXBean() instanceof ThreadMXBean hotspot ? hotspot : null;
        assumeTrue(bean != null && bean.isThreadAllocatedMemorySupported() && bean.isThreadAllocatedMemoryEnabled(),
                "this JVM cannot count a thread's allocations");
        long id = Thread.currentThread().getId();
        long before = bean.getThreadAllocatedBytes(id);
        action.run();
        return bean.getThreadAllocatedBytes(id) - before;
    }
}
