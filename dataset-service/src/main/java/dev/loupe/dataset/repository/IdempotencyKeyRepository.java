package dev.loupe.dataset.repository;

import jakarta.enterprise.context.ApplicationScoped;

import io.quarkus.hibernate.reactive.panache.PanacheRepositoryBase;

import dev.loupe.dataset.model.IdempotencyKey;

@ApplicationScoped
public class IdempotencyKeyRepository implements PanacheRepositoryBase<IdempotencyKey, IdempotencyKey.Key> {
}
