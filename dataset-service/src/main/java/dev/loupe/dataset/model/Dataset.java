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

    /** Null: kept until deleted. Written by the retention service only (SQL), never through this entity. */
    @Column(name = "retention_max_age_days", insertable = false, updatable = false)
    public Integer retentionMaxAgeDays;

    /** Null unless the dataset is under legal hold. */
    @Column(name = "legal_hold_reason", insertable = false, updatable = false)
    public String legalHoldReason;

    @Column(name = "legal_hold_placed_at", insertable = false, updatable = false)
    public Instant legalHoldPlacedAt;

    @Column(name = "legal_hold_placed_by_user_id", insertable = false, updatable = false)
    public String legalHoldPlacedByUserId;

    @Column(name = "legal_hold_placed_by_username", insertable = false, updatable = false)
    public String legalHoldPlacedByUsername;
}
