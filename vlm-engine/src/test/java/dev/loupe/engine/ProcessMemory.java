package dev.loupe.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.OptionalLong;
import java.util.Set;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/** What a test can see of the memory DJL holds: open arrays by manager, and the process's resident memory. */
public final class ProcessMemory {
    private static final Path STATUS = Path.of("/proc/self/status");

    private ProcessMemory() {
    }

    /**
     * The open arrays attached to these managers or to any manager below them (DJL's
     * {@link NDManager#getManagedArrays()} walks the attachment tree), each counted once however many of the
     * managers reach it.
     */
    public static int openArrays(Iterable<NDManager> managers) {
        Set<NDArray> arrays = Collections.newSetFromMap(new IdentityHashMap<>());
        for (NDManager manager : managers) {
            arrays.addAll(manager.getManagedArrays());
        }
        return arrays.size();
    }

    /** The resident set size ({@code VmRSS}) in bytes; empty where {@code /proc/self/status} does not exist. */
    public static OptionalLong residentBytes() {
        return statusField("VmRSS:");
    }

    /** The peak resident set size ({@code VmHWM}) in bytes; empty where {@code /proc/self/status} does not exist. */
    public static OptionalLong peakResidentBytes() {
        return statusField("VmHWM:");
    }

    private static OptionalLong statusField(String field) {
        if (!Files.isReadable(STATUS)) {
            return OptionalLong.empty();
        }
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith(field)) {
                    // "VmRSS:     123456 kB"
                    String[] parts = line.substring(field.length()).trim().split("\\s+");
                    return OptionalLong.of(Long.parseLong(parts[0]) * 1024);
                }
            }
            return OptionalLong.empty();
        } catch (IOException e) {
            return OptionalLong.empty();
        }
    }
}
