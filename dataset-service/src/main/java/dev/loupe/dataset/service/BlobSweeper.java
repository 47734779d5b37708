package dev.loupe.dataset.service;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import jakarta.enterprise.context.ApplicationScoped;

import io.quarkus.scheduler.Scheduled;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;
import org.jboss.logging.Logger;

import dev.loupe.dataset.config.DatasetConfig;
import dev.loupe.dataset.storage.BlobStore;

/**
 * Removes blobs that no record names: those a crash left between writing a blob and committing its row, and
 * temporary files of interrupted writes. Only blobs older than the grace period go, so that an import's blob
 * written a moment before its row commits is never taken for an orphan.
 */
@ApplicationScoped
public class BlobSweeper {
    private static final Logger LOG = Logger.getLogger(BlobSweeper.class);
    private static final int BATCH = 1000;

    private final Pool pool;
    private final BlobStore blobs;
    private final DatasetConfig config;

    public BlobSweeper(Pool pool, BlobStore blobs, DatasetConfig config) {
        this.pool = pool;
        this.blobs = blobs;
        this.config = config;
    }

    @Scheduled(every = "${loupe.dataset.blobs.sweep-interval:10M}", delayed = "1M", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void scheduled() throws IOException {
        int removed = sweep(Instant.now().minus(config.blobs().sweepGrace()));
        if (removed > 0) {
            LOG.infof("Removed %d blobs that no record names", removed);
        }
    }

    /** Removes the unnamed blobs written before {@code writtenBefore}; returns how many. */
    public int sweep(Instant writtenBefore) throws IOException {
        List<String> candidates = new ArrayList<>();
        for (BlobStore.StoredBlob blob : blobs.list()) {
            if (blob.writtenAt().isBefore(writtenBefore)) {
                candidates.add(blob.key());
            }
        }
        int removed = 0;
        for (int from = 0; from < candidates.size(); from += BATCH) {
            List<String> batch = candidates.subList(from, Math.min(candidates.size(), from + BATCH));
            Set<String> named = new HashSet<>();
            pool.preparedQuery("SELECT blob_key FROM record_image WHERE blob_key = ANY($1)")
                    .execute(Tuple.of(batch.toArray(String[]::new)))
                    .await().indefinitely()
                    .forEach(row -> named.add(row.getString("blob_key")));
            for (String key : batch) {
                if (!named.contains(key)) {
                    blobs.delete(key);
                    removed++;
                }
            }
        }
        return removed;
    }
}
