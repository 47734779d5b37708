/** The gateway's half of the role matrix: the filter that checks every REST route's capability. */
package dev.loupe.gateway.security;
