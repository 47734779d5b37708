-- Base models: checkpoints that platform operators registered from the model store. They belong to the
-- platform, not to a tenant: every tenant's jobs may start from them, so the table has no tenant column.
CREATE TABLE base_model (
    id                  text        PRIMARY KEY,
    display_name        text        NOT NULL,
    -- Architecture family, from the checkpoint's config.json (model_type), e.g. llava.
    architecture        text        NOT NULL,
    -- Elements of every tensor, from the safetensors headers.
    parameter_count     bigint      NOT NULL,
    -- The file: URI of the checkpoint folder (its real path, symbolic links resolved).
    storage_uri         text        NOT NULL,
    -- SHA-256 over the files' names and hashes in name order (see BaseModel.content_hash in the contract).
    content_hash        text        NOT NULL,
    -- Every file of the folder as it was hashed: {"config.json": {"sha256": "<hex>", "size": 1234}, ...}.
    file_manifest       jsonb       NOT NULL,
    created_at          timestamptz NOT NULL,
    -- Who registered it: a platform operator (user id and username), or this service itself (service).
    created_by_user_id  text        NOT NULL DEFAULT '',
    created_by_username text        NOT NULL DEFAULT '',
    created_by_service  text        NOT NULL DEFAULT '',
    CONSTRAINT base_model_id_format CHECK (id ~ '^[a-z0-9][a-z0-9._-]{0,99}$'),
    CONSTRAINT base_model_parameter_count CHECK (parameter_count > 0),
    CONSTRAINT base_model_content_hash_format CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    CONSTRAINT base_model_manifest_is_object CHECK (jsonb_typeof(file_manifest) = 'object'),
    CONSTRAINT base_model_created_by CHECK (created_by_user_id <> '' OR created_by_service <> '')
);
