package dev.loupe.system;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Kills and restarts the services of the running stack (deploy/local/stack.sh), as a crash would. */
final class StackServices {
    private StackServices() {
    }

    /** SIGKILL: no shutdown hook, no graceful close of anything. */
    static void kill(String service) throws Exception {
        Path pidFile = stackDir().resolve("run").resolve(service + ".pid");
        long pid = Long.parseLong(Files.readString(pidFile).trim());
        ProcessHandle process = ProcessHandle.of(pid).orElseThrow(() -> new AssertionError(service
                + " is not running"));
        assertTrue(process.destroyForcibly());
        process.onExit().get(30, TimeUnit.SECONDS);
    }

    /** Starts a service of the stack again and waits until it is ready. */
    static void start(String service) {
        try {
            ProcessBuilder builder = new ProcessBuilder(System.getProperty("loupe.stack.script"), "start-service",
                    service).inheritIO();
            builder.environment().put("LOUPE_STACK_DIR", stackDir().toString());
            Process start = builder.start();
            start.getOutputStream().close();
            if (!start.waitFor(3, TimeUnit.MINUTES) || start.exitValue() != 0) {
                throw new AssertionError("stack.sh start-service " + service + " failed");
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static Path stackDir() {
        return Path.of(System.getProperty("loupe.stack.dir"));
    }
}
