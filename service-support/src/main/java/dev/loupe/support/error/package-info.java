/**
 * Loupe's one error family: {@link dev.loupe.support.error.ProblemType} maps each kind of error to a
 * problem type URI, an HTTP status and a gRPC code.
 */
package dev.loupe.support.error;
