/** The governance-service's units of work: appending to and verifying the audit chains. */
package dev.loupe.governance.service;
