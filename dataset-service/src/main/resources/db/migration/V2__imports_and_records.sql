-- Imports, their rejected lines, and the records and images they stored. A record is visible only once its
-- import has succeeded: the import's state is the one switch that publishes a whole import at once, and the
-- rows of an import that failed or was interrupted are deleted with their blobs.
CREATE TABLE dataset_import (
    id                  uuid        PRIMARY KEY,
    tenant              text        NOT NULL,
    dataset_id          uuid        NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    format              text        NOT NULL,
    mode                text        NOT NULL,
    -- running, succeeded or failed.
    state               text        NOT NULL,
    -- Released (set to NULL) when an import is interrupted, so that a retry with the same key runs again.
    idempotency_key     text,
    file_name           text        NOT NULL,
    lines_read          bigint      NOT NULL DEFAULT 0,
    records_accepted    bigint      NOT NULL DEFAULT 0,
    lines_rejected      bigint      NOT NULL DEFAULT 0,
    duplicates_skipped  bigint      NOT NULL DEFAULT 0,
    failure_reason      text        NOT NULL DEFAULT '',
    created_by_user_id  text        NOT NULL,
    created_at          timestamptz NOT NULL,
    finished_at         timestamptz
);

CREATE INDEX dataset_import_by_dataset ON dataset_import (dataset_id, id);
CREATE UNIQUE INDEX dataset_import_idempotency ON dataset_import (tenant, idempotency_key);

-- The first rejected lines of an import (the report's detail; totals are on the import).
CREATE TABLE import_rejection (
    import_id uuid    NOT NULL REFERENCES dataset_import (id) ON DELETE CASCADE,
    ordinal   integer NOT NULL,
    line      bigint  NOT NULL,
    pointer   text    NOT NULL,
    code      text    NOT NULL,
    message   text    NOT NULL,
    PRIMARY KEY (import_id, ordinal)
);

CREATE TABLE dataset_record (
    id                   uuid        PRIMARY KEY,
    tenant               text        NOT NULL,
    dataset_id           uuid        NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    import_id            uuid        NOT NULL REFERENCES dataset_import (id) ON DELETE CASCADE,
    line                 bigint      NOT NULL,
    client_id            text        NOT NULL,
    -- The chat turns as JSON: [{"role": ..., "content": ...}], content with <image> placeholders.
    messages_json        text        NOT NULL,
    annotations_json     text        NOT NULL,
    expected_output_json text        NOT NULL,
    -- Keyed hash over the canonical record (text and image hashes): exact duplicates and version manifests.
    record_hash          text        NOT NULL,
    estimated_tokens     integer     NOT NULL,
    created_at           timestamptz NOT NULL,
    CONSTRAINT dataset_record_once UNIQUE (dataset_id, record_hash)
);

CREATE INDEX dataset_record_by_dataset ON dataset_record (dataset_id, id);
CREATE INDEX dataset_record_by_import ON dataset_record (import_id);

-- One encrypted image of a record: where its blob is and its data key, wrapped by the dataset's KEK.
CREATE TABLE record_image (
    record_id    uuid    NOT NULL REFERENCES dataset_record (id) ON DELETE CASCADE,
    index        integer NOT NULL,
    media_type   text    NOT NULL,
    width        integer NOT NULL,
    height       integer NOT NULL,
    size_bytes   bigint  NOT NULL,
    content_hash text    NOT NULL,
    blob_key     text    NOT NULL UNIQUE,
    wrapped_key  text    NOT NULL,
    PRIMARY KEY (record_id, index)
);
