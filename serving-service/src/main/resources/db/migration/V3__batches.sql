-- Batch inference: a deployment answers every example of a dataset version's split.
CREATE TABLE batch (
    id                   text        PRIMARY KEY,
    tenant               text        NOT NULL,
    deployment_id        text        NOT NULL,
    deployment_name      text        NOT NULL,
    model_version_id     text        NOT NULL,
    dataset_version_id   text        NOT NULL,
    -- 'validation' or 'train'.
    split                text        NOT NULL,
    max_tokens           integer     NOT NULL,
    temperature          double precision NOT NULL,
    json_schema          text        NOT NULL DEFAULT '',
    -- 'queued', 'running', 'succeeded', 'failed' (see failure_reason) or 'cancelled'.
    state                text        NOT NULL,
    failure_reason       text        NOT NULL DEFAULT '',
    -- Examples in the split, known once all are read; 0 before.
    total                bigint      NOT NULL DEFAULT 0,
    completed            bigint      NOT NULL DEFAULT 0,
    failed               bigint      NOT NULL DEFAULT 0,
    -- The manifest position after the last stored answer: a resumed batch reads on from there.
    next_position        bigint      NOT NULL DEFAULT 0,
    -- The batch's data key, wrapped by the tenant's batches KEK; every answer is sealed under it.
    key_name             text        NOT NULL,
    wrapped_key          text        NOT NULL,
    created_at           timestamptz NOT NULL,
    created_by_user_id   text        NOT NULL,
    created_by_username  text        NOT NULL,
    finished_at          timestamptz,
    idempotency_key      text
);

CREATE UNIQUE INDEX batch_idempotency ON batch (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX batch_tenant ON batch (tenant, id);
CREATE INDEX batch_waiting ON batch (created_at) WHERE state IN ('queued', 'running');

-- One answer per example, sealed (AES-256-GCM under the batch's data key, bound to tenant, batch and position).
CREATE TABLE batch_result (
    batch_id           text    NOT NULL REFERENCES batch (id) ON DELETE CASCADE,
    position           bigint  NOT NULL,
    record_id          text    NOT NULL,
    record_hash        text    NOT NULL,
    -- The sealed answer text; an example without an answer seals its error message instead.
    sealed_text        bytea   NOT NULL,
    -- 'stop', 'length' or 'error'.
    finish_reason      text    NOT NULL,
    prompt_tokens      integer NOT NULL,
    image_tokens       integer NOT NULL,
    completion_tokens  integer NOT NULL,
    PRIMARY KEY (batch_id, position)
);
