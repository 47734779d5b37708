/** The serving-service's records. */
package dev.loupe.serving.model;
