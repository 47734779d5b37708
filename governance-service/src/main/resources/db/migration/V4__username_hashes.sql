-- The trail keeps no usernames, only their keyed hashes (docs/audit-chain.md, "Personal identifiers"). The
-- columns keep their place in the hashed encoding; entries appended before this migration still hold the
-- names they were written with, since append-only rows cannot be rewritten.
ALTER TABLE audit_entry RENAME COLUMN actor_username TO actor_username_hash;
ALTER TABLE audit_entry RENAME COLUMN on_behalf_username TO on_behalf_username_hash;
