-- Signed checkpoints: "entry seq of chain had hash head_hash at signed_at", signed with a KMS key the database
-- never sees (docs/audit-chain.md). Each is also written to a file outside the database; verification reads
-- both. Append-only like the entries.
CREATE TABLE audit_checkpoint (
    chain     text        NOT NULL,
    seq       bigint      NOT NULL,
    head_hash text        NOT NULL,
    signed_at timestamptz NOT NULL,
    key_id    text        NOT NULL,
    signature text        NOT NULL,
    PRIMARY KEY (chain, seq)
);

CREATE TRIGGER audit_checkpoint_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only();

CREATE TRIGGER audit_checkpoint_no_truncate
    BEFORE TRUNCATE ON audit_checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only();

GRANT SELECT, INSERT ON audit_checkpoint TO ${app_role};
