/**
 * Evidence packs: the ZIP a compliance officer downloads to check a run of an audit chain offline, with the
 * entries, the signed checkpoints that vouch for them, the public keys and a manifest. {@link
 * dev.loupe.audit.evidence.EvidencePackWriter} streams one out and {@link dev.loupe.audit.evidence.EvidencePackReader}
 * reads one back; docs/audit-chain.md describes the layout for anyone who checks a pack without this code.
 */
package dev.loupe.audit.evidence;
