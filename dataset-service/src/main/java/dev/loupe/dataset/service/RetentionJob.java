package dev.loupe.dataset.service;

import jakarta.enterprise.context.ApplicationScoped;

import io.quarkus.scheduler.Scheduled;
import org.jboss.logging.Logger;

/**
 * The scheduled enforcement of retention: deletes and crypto-shreds the datasets whose maximum age has passed,
 * finishes the shreds and key rotations a crash or an unreachable KMS left behind. Runs shortly after start-up
 * and then every {@code loupe.dataset.retention.interval}.
 */
@ApplicationScoped
public class RetentionJob {
    private static final Logger LOG = Logger.getLogger(RetentionJob.class);

    private final RetentionService retention;
    private final KeyRotationService rotation;

    public RetentionJob(RetentionService retention, KeyRotationService rotation) {
        this.retention = retention;
        this.rotation = rotation;
    }

    @Scheduled(every = "${loupe.dataset.retention.interval:1H}", delayed = "${loupe.dataset.retention.first-run:30S}", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void scheduled() {
        run();
    }

    /** One pass; returns how many datasets expired. */
    public int run() {
        int shredded = retention.shredPending();
        int expired = retention.expireDue();
        int rotated = rotation.rotateDue();
        if (shredded + expired + rotated > 0) {
            LOG.infof("Retention: %d datasets expired, %d pending shreds finished, %d pending key rotations done",
                    expired, shredded, rotated);
        }
        return expired;
    }
}
