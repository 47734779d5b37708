-- Retention, legal hold and key rotation of datasets; crypto-shredding that survives a crash; the report
-- totals that dataset statistics sum; erasure of records that frozen versions hold.

-- Days after created_at when the retention job deletes the dataset; NULL keeps it until deleted.
ALTER TABLE dataset ADD COLUMN retention_max_age_days integer;
-- A dataset under legal hold cannot be deleted, expire, or have records erased, whoever asks.
ALTER TABLE dataset ADD COLUMN legal_hold_reason text;
ALTER TABLE dataset ADD COLUMN legal_hold_placed_at timestamptz;
ALTER TABLE dataset ADD COLUMN legal_hold_placed_by_user_id text;
ALTER TABLE dataset ADD COLUMN legal_hold_placed_by_username text;
-- The KEK version new image rows must be wrapped under: a rotation raises it before rewrapping, and an import
-- that wrapped keys under an older version rewraps them before inserting (it reads this row FOR SHARE).
ALTER TABLE dataset ADD COLUMN key_version integer NOT NULL DEFAULT 1;
-- Set (to the time of the request) by an erasure in its transaction, cleared once a rotation that started after
-- it has trimmed the old versions: a crash, a running import or a failing KMS leaves the rotation to the retention
-- job instead of forgetting it.
ALTER TABLE dataset ADD COLUMN key_rotation_due_since timestamptz;

-- Datasets deleted (by request or expiry) whose KEK and blobs are still to be destroyed. The row is written in
-- the transaction that deletes the dataset and removed once both are gone, so a crash never forgets a shred.
CREATE TABLE dataset_shred (
    dataset_id   uuid        PRIMARY KEY,
    tenant       text        NOT NULL,
    reason       text        NOT NULL,
    requested_at timestamptz NOT NULL
);

-- Rejected lines per error code, as JSON {"code": count}: the report's totals, not only its first lines.
ALTER TABLE dataset_import ADD COLUMN rejections_by_code text NOT NULL DEFAULT '{}';

-- Erasing a record removes it from the versions that hold it (the version row keeps what was frozen: its count
-- and manifest hash).
ALTER TABLE version_record DROP CONSTRAINT version_record_record_id_fkey;
ALTER TABLE version_record ADD CONSTRAINT version_record_record_id_fkey
    FOREIGN KEY (record_id) REFERENCES dataset_record (id) ON DELETE CASCADE;

CREATE INDEX dataset_expiry ON dataset (created_at) WHERE retention_max_age_days IS NOT NULL;
