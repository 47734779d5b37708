-- The audit outbox, shared by every service that records audit events (location db/audit-outbox in
-- quarkus.flyway.locations). A service inserts its events here in the same transaction as the change they
-- describe; service-support's OutboxRelay sends them to the governance-service and deletes what it appended.
-- A repeatable migration, so it must stay idempotent: change the table with IF NOT EXISTS statements only.
CREATE TABLE IF NOT EXISTS audit_outbox (
    id         bigserial   PRIMARY KEY,
    event_id   uuid        NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- The loupe.governance.v1.AuditEvent, serialized.
    payload    bytea       NOT NULL,
    attempts   integer     NOT NULL DEFAULT 0,
    -- Set when the governance-service refused the event as invalid: it stays, out of the relay's way, for
    -- an operator to read; it is never dropped.
    parked_at  timestamptz,
    last_error text
);

CREATE INDEX IF NOT EXISTS audit_outbox_pending ON audit_outbox (id) WHERE parked_at IS NULL;
