/** The audit trail's records and the hash that chains them. */
package dev.loupe.governance.model;
