package dev.loupe.dataset.repository;

import java.time.Instant;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import io.quarkus.hibernate.reactive.panache.PanacheRepositoryBase;
import io.smallrye.mutiny.Uni;

import dev.loupe.dataset.model.IdempotencyKey;

@ApplicationScoped
public class IdempotencyKeyRepository implements PanacheRepositoryBase<IdempotencyKey, IdempotencyKey.Key> {

    /**
     * Takes over a key first used before {@code oldestValid} for a new request. The condition is evaluated
     * again after any concurrent update commits, so of two requests reclaiming the same key only one succeeds.
     *
     * @return whether this request now holds the key
     */
    public Uni<Boolean> reclaimExpired(IdempotencyKey.Key key, Instant oldestValid, String requestHash,
            UUID resourceId, Instant now) {
        return update("requestHash = ?1, resourceId = ?2, createdAt = ?3"
                + " where id.tenant = ?4 and id.operation = ?5 and id.key = ?6 and createdAt < ?7",
                requestHash, resourceId, now, key.tenant, key.operation, key.key, oldestValid)
                .map(updated -> updated == 1);
    }
}
