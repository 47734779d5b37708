-- Frozen versions of a dataset: which records, in which split, at which manifest position. A version never
-- changes once created (the trigger refuses UPDATE to every role); it goes only with its dataset.
CREATE TABLE dataset_version (
    id                  uuid             PRIMARY KEY,
    tenant              text             NOT NULL,
    dataset_id          uuid             NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    number              integer          NOT NULL,
    record_count        bigint           NOT NULL,
    train_count         bigint           NOT NULL,
    validation_count    bigint           NOT NULL,
    validation_fraction double precision NOT NULL,
    split_seed          bigint           NOT NULL,
    manifest_hash       text             NOT NULL,
    description         text             NOT NULL,
    idempotency_key     text,
    created_by_user_id  text             NOT NULL,
    created_by_username text             NOT NULL,
    created_at          timestamptz      NOT NULL,
    CONSTRAINT dataset_version_number UNIQUE (dataset_id, number)
);

CREATE UNIQUE INDEX dataset_version_idempotency ON dataset_version (tenant, idempotency_key);

-- The manifest: records in order of their record hash; split 'train' or 'validation'.
CREATE TABLE version_record (
    version_id uuid    NOT NULL REFERENCES dataset_version (id) ON DELETE CASCADE,
    position   integer NOT NULL,
    record_id  uuid    NOT NULL REFERENCES dataset_record (id),
    split      text    NOT NULL,
    PRIMARY KEY (version_id, position)
);

CREATE INDEX version_record_by_record ON version_record (record_id);

CREATE FUNCTION version_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'dataset versions are immutable (% refused)', TG_OP;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER dataset_version_no_update BEFORE UPDATE ON dataset_version
    FOR EACH ROW EXECUTE FUNCTION version_immutable();
CREATE TRIGGER version_record_no_update BEFORE UPDATE ON version_record
    FOR EACH ROW EXECUTE FUNCTION version_immutable();
