/** The serving-service's SQL. */
package dev.loupe.serving.repository;
