/** The governance-service's typed configuration. */
package dev.loupe.governance.config;
