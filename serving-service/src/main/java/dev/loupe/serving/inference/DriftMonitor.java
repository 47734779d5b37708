package dev.loupe.serving.inference;

import java.io.IOException;
import java.util.Optional;

import dev.loupe.engine.drift.DriftAssessment;
import dev.loupe.engine.drift.DriftReference;
import dev.loupe.engine.drift.DriftWindow;

/**
 * A deployment's drift monitoring: the sliding window of its live traffic against its model version's training
 * reference, and whether a drift event is raised now. A version trained before Loupe recorded references has none,
 * and says so.
 */
public final class DriftMonitor {
    private final DriftWindow window;
    private final String unavailableReason;
    /** Whether the last event raised for this deployment was a detection (changed by the drift checks only). */
    private volatile boolean drifting;

    private DriftMonitor(DriftWindow window, String unavailableReason) {
        this.window = window;
        this.unavailableReason = unavailableReason;
    }

    /**
     * The monitor of a version's files.
     *
     * @param reference the version's {@link DriftReference#FILE}, null when it has none
     */
    static DriftMonitor of(byte[] reference, int windowSize) {
        if (reference == null) {
            return new DriftMonitor(null, "the model version has no drift reference (" + DriftReference.FILE
                    + "): it was trained before Loupe recorded one");
        }
        try {
            return new DriftMonitor(new DriftWindow(DriftReference.fromJson(reference), windowSize), "");
        } catch (IOException e) {
            return new DriftMonitor(null, "the model version's drift reference cannot be read: " + e.getMessage());
        }
    }

    /** The live window, unless the version has no reference. */
    public Optional<DriftWindow> window() {
        return Optional.ofNullable(window);
    }

    /** Why the deployment is not monitored; empty when it is. */
    public String unavailableReason() {
        return unavailableReason;
    }

    /** The window against the reference now; empty without a reference. */
    public Optional<DriftAssessment> assess(int minSamples, double psiThreshold, double rateThreshold) {
        return window().map(w -> w.assess(minSamples, psiThreshold, rateThreshold));
    }

    public boolean drifting() {
        return drifting;
    }

    public void drifting(boolean drifting) {
        this.drifting = drifting;
    }
}
