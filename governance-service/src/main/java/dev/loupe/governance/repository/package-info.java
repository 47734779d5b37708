/** SQL access to the audit trail. */
package dev.loupe.governance.repository;
