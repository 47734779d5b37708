-- The audit trail: one hash chain per tenant plus the chain 'platform'. docs/audit-chain.md describes the
-- bytes each hash covers. Rows are never updated or deleted: the triggers below refuse it to every role,
-- the table owner included, unless the owner first disables them (which the tamper tests do on purpose).
CREATE TABLE audit_entry (
    chain              text        NOT NULL,
    seq                bigint      NOT NULL,
    event_id           uuid        NOT NULL,
    occurred_at        timestamptz NOT NULL,
    tenant             text        NOT NULL,
    actor_user_id      text        NOT NULL,
    actor_username     text        NOT NULL,
    actor_service      text        NOT NULL,
    on_behalf_user_id  text        NOT NULL,
    on_behalf_username text        NOT NULL,
    action             text        NOT NULL,
    resource_type      text        NOT NULL,
    resource_id        text        NOT NULL,
    outcome            text        NOT NULL,
    request_id         text        NOT NULL,
    details            text        NOT NULL,
    source             text        NOT NULL,
    appended_at        timestamptz NOT NULL,
    prev_hash          text        NOT NULL,
    hash               text        NOT NULL,
    PRIMARY KEY (chain, seq),
    CONSTRAINT audit_entry_event_once UNIQUE (event_id)
);

-- The head of each chain: appends to one chain serialize on its row (SELECT ... FOR UPDATE).
CREATE TABLE audit_chain_head (
    chain text   PRIMARY KEY,
    seq   bigint NOT NULL,
    hash  text   NOT NULL
);

CREATE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only (% refused)', TG_OP;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_entry_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only();

CREATE TRIGGER audit_entry_no_truncate
    BEFORE TRUNCATE ON audit_entry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only();
