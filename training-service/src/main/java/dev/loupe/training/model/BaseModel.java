package dev.loupe.training.model;

import java.time.Instant;
import java.util.Map;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

import org.hibernate.annotations.JdbcTypeCode;
import org.hibernate.type.SqlTypes;

/**
 * A checkpoint registered from the platform's model store, which fine-tuning jobs start from. Base models belong
 * to the platform, not to a tenant; once registered they never change.
 */
@Entity
@Table(name = "base_model")
public class BaseModel {
    @Id
    public String id;

    @Column(name = "display_name", nullable = false, updatable = false)
    public String displayName;

    @Column(nullable = false, updatable = false)
    public String architecture;

    @Column(name = "parameter_count", nullable = false, updatable = false)
    public long parameterCount;

    /** The {@code file:} URI of the checkpoint folder's real path. */
    @Column(name = "storage_uri", nullable = false, updatable = false)
    public String storageUri;

    @Column(name = "content_hash", nullable = false, updatable = false)
    public String contentHash;

    /** File name to its hash and size: every file the content hash covers. */
    @JdbcTypeCode(SqlTypes.JSON)
    @Column(name = "file_manifest", nullable = false, updatable = false)
    public Map<String, ModelFile> fileManifest;

    @Column(name = "created_at", nullable = false, updatable = false)
    public Instant createdAt;

    /** Empty when the service registered it itself. */
    @Column(name = "created_by_user_id", nullable = false, updatable = false)
    public String createdByUserId;

    @Column(name = "created_by_username", nullable = false, updatable = false)
    public String createdByUsername;

    /** The service that registered it on its own (the tiny base model at start); empty for an operator. */
    @Column(name = "created_by_service", nullable = false, updatable = false)
    public String createdByService;
}
