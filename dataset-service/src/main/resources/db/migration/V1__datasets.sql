-- Datasets of every tenant. Every query filters on tenant; ids are UUIDv7, so ordering by id is by age.
CREATE TABLE dataset (
    id                  uuid        PRIMARY KEY,
    tenant              text        NOT NULL,
    name                text        NOT NULL,
    description         text        NOT NULL DEFAULT '',
    record_count        bigint      NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    created_by_user_id  text        NOT NULL,
    created_by_username text        NOT NULL,
    CONSTRAINT dataset_name_per_tenant UNIQUE (tenant, name)
);

CREATE INDEX dataset_by_tenant ON dataset (tenant, id);

-- Idempotency-Key of creating requests: a retry with the same key and request returns the first result.
CREATE TABLE idempotency_key (
    tenant       text        NOT NULL,
    operation    text        NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    resource_id  uuid        NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant, operation, key)
);
