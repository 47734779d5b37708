package dev.loupe.training.worker;

import java.util.concurrent.ThreadFactory;

/**
 * Threads of the scheduler and the executors: named for thread dumps and logs, and daemons, so that none of them
 * keeps the service's JVM alive when it stops.
 */
final class DaemonThreads {
    private DaemonThreads() {
    }

    /** A factory of daemon threads of one name. */
    static ThreadFactory named(String name) {
        return runnable -> {
            Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            return thread;
        };
    }
}
