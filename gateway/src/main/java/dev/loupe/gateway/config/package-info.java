/** Typed configuration of the gateway. */
package dev.loupe.gateway.config;
