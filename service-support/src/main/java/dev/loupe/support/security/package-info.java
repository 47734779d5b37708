/**
 * Identity and authorization shared by every service: the role matrix ({@link dev.loupe.support.security.Capability}),
 * token verification against Keycloak and the caller a verified token describes.
 */
package dev.loupe.support.security;
