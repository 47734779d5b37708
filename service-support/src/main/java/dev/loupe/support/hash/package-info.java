/** Digests shared by the services. */
package dev.loupe.support.hash;
