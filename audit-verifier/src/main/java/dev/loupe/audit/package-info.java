/**
 * The audit chain's format, shared by the governance-service that writes it and the standalone verifier that
 * checks evidence packs: the entry hash, signed checkpoints and the walk that verifies a run of entries.
 * docs/audit-chain.md writes the same rules out for anyone who wants to verify without this code.
 */
package dev.loupe.audit;
