package dev.loupe.training.repository;

import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import io.quarkus.hibernate.reactive.panache.PanacheRepositoryBase;
import io.quarkus.panache.common.Sort;
import io.smallrye.mutiny.Uni;

import dev.loupe.training.model.BaseModel;

/** Base models. They belong to the platform, so no query here filters on a tenant. */
@ApplicationScoped
public class BaseModelRepository implements PanacheRepositoryBase<BaseModel, String> {

    /** Up to {@code limit} base models in id order, with an id after {@code after} (empty: from the start). */
    public Uni<List<BaseModel>> listAfter(String after, int limit) {
        var query = after.isEmpty()
                ? findAll(Sort.by("id"))
                : find("id > ?1", Sort.by("id"), after);
        return query.page(0, limit).list();
    }
}
