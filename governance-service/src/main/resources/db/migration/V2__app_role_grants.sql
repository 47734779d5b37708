-- The service connects as its own application role, which may read and append audit entries and move chain
-- heads, and nothing more: no UPDATE or DELETE of entries, no TRUNCATE, no DDL. Migrations run as the owner.
GRANT SELECT, INSERT ON audit_entry TO ${app_role};
GRANT SELECT, INSERT, UPDATE ON audit_chain_head TO ${app_role};
