package dev.loupe.dataset.model;

import java.time.Instant;
import java.util.UUID;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/** A named collection of image-text records owned by one tenant. */
@Entity
@Table(name = "dataset")
public class Dataset {
    @Id
    public UUID id;

    @Column(nullable = false, updatable = false)
    public String tenant;

    @Column(nullable = false)
    public String name;

    @Column(nullable = false)
    public String description;

    @Column(name = "record_count", nullable = false)
    public long recordCount;

    @Column(name = "created_at", nullable = false, updatable = false)
    public Instant createdAt;

    @Column(name = "updated_at", nullable = false)
    public Instant updatedAt;

    @Column(name = "created_by_user_id", nullable = false, updatable = false)
    public String createdByUserId;

    @Column(name = "created_by_username", nullable = false, updatable = false)
    public String createdByUsername;
}
