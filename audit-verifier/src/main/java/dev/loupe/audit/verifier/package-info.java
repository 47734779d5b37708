/**
 * The standalone verifier of evidence packs: {@link dev.loupe.audit.verifier.VerifyEvidencePack} runs as
 * {@code java -jar loupe-audit-verifier-<version>-standalone.jar PACK.zip}, needs nothing of Loupe but this jar,
 * and walks the chain with the same code the governance-service uses.
 */
package dev.loupe.audit.verifier;
