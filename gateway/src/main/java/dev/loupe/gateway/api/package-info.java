/** The JSON shapes of the REST API (snake_case on the wire). */
package dev.loupe.gateway.api;
