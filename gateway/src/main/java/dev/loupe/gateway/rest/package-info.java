/** The REST resources of Loupe's public API. Each route names its capability with {@code @Authorized}. */
package dev.loupe.gateway.rest;
