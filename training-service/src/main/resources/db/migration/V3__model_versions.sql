-- Model versions: what succeeded jobs trained, with their lineage down to the record hashes, and the review
-- that decides whether they may be deployed. The weights are files sealed under a data key of the version's own.
CREATE TABLE model_version (
    id                       text        PRIMARY KEY,
    tenant                   text        NOT NULL,
    name                     text        NOT NULL,
    job_id                   text        NOT NULL UNIQUE REFERENCES fine_tuning_job (id),
    -- 'pending_review' (a candidate), 'approved', 'quarantined', 'retired' or 'erased'.
    state                    text        NOT NULL,
    base_model_id            text        NOT NULL,
    base_model_hash          text        NOT NULL,
    dataset_id               text        NOT NULL,
    dataset_version_id       text        NOT NULL,
    manifest_hash            text        NOT NULL,
    code_version             text        NOT NULL,
    seed                     bigint      NOT NULL,
    -- The job's method and hyperparameters, defaults filled in: {"method": {...}, "hyperparameters": {...}}.
    config                   jsonb       NOT NULL,
    hardware                 jsonb       NOT NULL,
    trained_record_count     bigint      NOT NULL,
    validation_record_count  bigint      NOT NULL,
    evaluation               jsonb       NOT NULL,
    base_evaluation          jsonb       NOT NULL,
    -- 'adapter' (PEFT layout) or 'full'; the hash and size of the files as the worker wrote them.
    artifact_kind            text        NOT NULL,
    artifact_hash            text        NOT NULL,
    artifact_bytes           bigint      NOT NULL,
    -- The artifact's file names in name order, and the version's data key wrapped under the tenant's model KEK.
    artifact_files           jsonb       NOT NULL,
    key_name                 text        NOT NULL,
    wrapped_key              text        NOT NULL,
    created_at               timestamptz NOT NULL,
    trained_by_user_id       text        NOT NULL,
    trained_by_username      text        NOT NULL,
    reviewed_by_user_id      text        NOT NULL DEFAULT '',
    reviewed_by_username     text        NOT NULL DEFAULT '',
    review_comment           text        NOT NULL DEFAULT '',
    reviewed_at              timestamptz,
    CONSTRAINT model_version_state CHECK (state IN ('pending_review', 'approved', 'quarantined', 'retired',
        'erased')),
    CONSTRAINT model_version_artifact_kind CHECK (artifact_kind IN ('adapter', 'full'))
);
CREATE INDEX model_version_tenant ON model_version (tenant, id);

-- Which records a version saw: the training split it learned from and the validation split it was measured on.
CREATE TABLE model_version_record (
    model_version_id  text NOT NULL REFERENCES model_version (id) ON DELETE CASCADE,
    record_hash       text NOT NULL,
    split             text NOT NULL,
    PRIMARY KEY (model_version_id, split, record_hash),
    CONSTRAINT model_version_record_split CHECK (split IN ('train', 'validation'))
);
-- Erasure requests ask which versions saw a record.
CREATE INDEX model_version_record_hash ON model_version_record (record_hash);

ALTER TABLE fine_tuning_job ADD COLUMN result_model_version_id text;
