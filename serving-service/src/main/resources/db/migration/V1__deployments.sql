-- Deployments: approved model versions served under a name that inference requests use as `model`. The weights
-- are not stored here: they are loaded from the training-service's registry when a deployment starts.
CREATE TABLE deployment (
    id                        text        PRIMARY KEY,
    tenant                    text        NOT NULL,
    -- The name requests use: unique per tenant, e.g. `invoice-extractor`.
    name                      text        NOT NULL,
    model_version_id          text        NOT NULL,
    model_version_name        text        NOT NULL,
    base_model_id             text        NOT NULL,
    max_batch_size            integer     NOT NULL,
    max_concurrent_sequences  integer     NOT NULL,
    cache_enabled             boolean     NOT NULL,
    -- 'ready', 'failed' (see failure_reason) or 'suspended' (its version was quarantined or retired).
    state                     text        NOT NULL,
    failure_reason            text        NOT NULL DEFAULT '',
    created_at                timestamptz NOT NULL,
    created_by_user_id        text        NOT NULL,
    created_by_username       text        NOT NULL,
    idempotency_key           text,
    UNIQUE (tenant, name)
);

CREATE UNIQUE INDEX deployment_idempotency ON deployment (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX deployment_tenant ON deployment (tenant, id);
