package dev.loupe.dataset.repository;

import java.util.List;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import io.quarkus.hibernate.reactive.panache.PanacheRepositoryBase;
import io.quarkus.panache.common.Sort;
import io.smallrye.mutiny.Uni;

import dev.loupe.dataset.model.Dataset;

/** Datasets, always within one tenant: no method here reads across tenants. */
@ApplicationScoped
public class DatasetRepository implements PanacheRepositoryBase<Dataset, UUID> {

    public Uni<Dataset> findInTenant(String tenant, UUID id) {
        return find("tenant = ?1 and id = ?2", tenant, id).firstResult();
    }

    /** Up to {@code limit} datasets of the tenant with an id after {@code after} (null: from the start). */
    public Uni<List<Dataset>> listInTenant(String tenant, UUID after, int limit) {
        var query = after == null
                ? find("tenant = ?1", Sort.by("id"), tenant)
                : find("tenant = ?1 and id > ?2", Sort.by("id"), tenant, after);
        return query.page(0, limit).list();
    }

    public Uni<Boolean> nameTaken(String tenant, String name) {
        return count("tenant = ?1 and name = ?2", tenant, name).map(count -> count > 0);
    }
}
