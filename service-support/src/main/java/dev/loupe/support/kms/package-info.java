/**
 * The key management abstraction: keys whose private halves stay in the KMS. {@code local} (a key file, the
 * embedded default) and {@code vault} (HashiCorp Vault transit) implement it; {@code loupe.kms.provider}
 * chooses.
 */
package dev.loupe.support.kms;
