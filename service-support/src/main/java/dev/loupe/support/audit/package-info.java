/**
 * Audit events from every service: built from the caller ({@link dev.loupe.support.audit.AuditEvents}),
 * written to the service's outbox table in the transaction of the change they describe, and delivered to the
 * governance-service by {@link dev.loupe.support.audit.OutboxRelay}, at least once; the governance-service
 * appends each event id once.
 */
package dev.loupe.support.audit;
