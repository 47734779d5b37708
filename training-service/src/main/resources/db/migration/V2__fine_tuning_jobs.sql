-- Fine-tuning jobs, their events and their checkpoints. Every row belongs to the tenant of its job, and every
-- query names the tenant.
CREATE TABLE fine_tuning_job (
    id                      text        PRIMARY KEY,
    tenant                  text        NOT NULL,
    base_model_id           text        NOT NULL REFERENCES base_model (id),
    -- The base model's content hash when the job was accepted: what the job starts from.
    base_model_hash         text        NOT NULL,
    dataset_id              text        NOT NULL,
    dataset_version_id      text        NOT NULL,
    manifest_hash           text        NOT NULL,
    train_count             bigint      NOT NULL,
    validation_count        bigint      NOT NULL,
    -- 'validation' or 'none'.
    validation_split        text        NOT NULL,
    -- The method and hyperparameters with every default filled in, as the job shows them (snake_case keys).
    method                  jsonb       NOT NULL,
    hyperparameters         jsonb       NOT NULL,
    seed                    bigint      NOT NULL,
    suffix                  text        NOT NULL DEFAULT '',
    metadata                jsonb       NOT NULL DEFAULT '{}',
    priority                integer     NOT NULL DEFAULT 0,
    estimated_memory_bytes  bigint      NOT NULL,
    state                   text        NOT NULL,
    -- Set while a cancel or a pause waits for the worker to stop: 'cancel' or 'pause'.
    stop_requested          text,
    failure_reason          text        NOT NULL DEFAULT '',
    trained_steps           bigint      NOT NULL DEFAULT 0,
    total_steps             bigint      NOT NULL DEFAULT 0,
    -- Worker launches so far, and the running worker's process (to stop an orphan after a restart).
    attempt                 integer     NOT NULL DEFAULT 0,
    worker_pid              bigint,
    worker_started_at       timestamptz,
    evaluation              jsonb       NOT NULL DEFAULT '{}',
    base_evaluation         jsonb       NOT NULL DEFAULT '{}',
    -- Where the worker wrote checkpoints and the result (a folder under loupe.training.jobs-root).
    output_path             text        NOT NULL,
    artifact_path           text        NOT NULL DEFAULT '',
    -- Gapless event numbering: the sequence of the job's last event.
    last_event_sequence     bigint      NOT NULL DEFAULT 0,
    created_at              timestamptz NOT NULL,
    started_at              timestamptz,
    finished_at             timestamptz,
    created_by_user_id      text        NOT NULL,
    created_by_username     text        NOT NULL,
    idempotency_key         text,
    -- SHA-256 of the request an Idempotency-Key was first used with: a replay must repeat it.
    idempotency_request_hash text,
    CONSTRAINT fine_tuning_job_state CHECK (state IN ('validating_files', 'queued', 'running', 'paused',
        'succeeded', 'failed', 'cancelled')),
    CONSTRAINT fine_tuning_job_stop_requested CHECK (stop_requested IN ('cancel', 'pause')),
    CONSTRAINT fine_tuning_job_validation_split CHECK (validation_split IN ('validation', 'none')),
    CONSTRAINT fine_tuning_job_priority CHECK (priority BETWEEN -10 AND 10),
    CONSTRAINT fine_tuning_job_idempotency UNIQUE (tenant, created_by_user_id, idempotency_key)
);

-- The scheduler's queue: queued jobs by priority, then age.
CREATE INDEX fine_tuning_job_queue ON fine_tuning_job (state, priority DESC, created_at);
-- Listing a tenant's jobs, newest first.
CREATE INDEX fine_tuning_job_tenant ON fine_tuning_job (tenant, created_at DESC, id DESC);

CREATE TABLE fine_tuning_job_event (
    job_id      text        NOT NULL REFERENCES fine_tuning_job (id) ON DELETE CASCADE,
    -- Gapless per job, from 1.
    sequence    bigint      NOT NULL,
    id          text        NOT NULL UNIQUE,
    level       text        NOT NULL,
    type        text        NOT NULL,
    message     text        NOT NULL,
    metrics     jsonb       NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (job_id, sequence),
    CONSTRAINT fine_tuning_job_event_level CHECK (level IN ('info', 'warn', 'error')),
    CONSTRAINT fine_tuning_job_event_type CHECK (type IN ('message', 'metrics'))
);

CREATE TABLE fine_tuning_job_checkpoint (
    job_id        text        NOT NULL REFERENCES fine_tuning_job (id) ON DELETE CASCADE,
    step          bigint      NOT NULL,
    id            text        NOT NULL UNIQUE,
    metrics       jsonb       NOT NULL DEFAULT '{}',
    content_hash  text        NOT NULL,
    path          text        NOT NULL,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (job_id, step)
);
