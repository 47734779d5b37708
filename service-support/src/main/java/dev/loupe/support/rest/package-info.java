/** REST plumbing every service shares: the problem+json exception mappers. */
package dev.loupe.support.rest;
