package dev.loupe.dataset.repository;

import java.time.Instant;

import jakarta.enterprise.context.ApplicationScoped;

import io.quarkus.hibernate.reactive.panache.PanacheRepositoryBase;
import io.smallrye.mutiny.Uni;

import dev.loupe.dataset.model.IdempotencyKey;

@ApplicationScoped
public class IdempotencyKeyRepository implements PanacheRepositoryBase<IdempotencyKey, IdempotencyKey.Key> {

    /** Forgets a key first used before {@code oldestValid}, so that it can start a new request. */
    public Uni<Void> deleteExpired(IdempotencyKey.Key key, Instant oldestValid) {
        return delete("id.tenant = ?1 and id.operation = ?2 and id.key = ?3 and createdAt < ?4", key.tenant,
                key.operation, key.key, oldestValid).replaceWithVoid();
    }
}
