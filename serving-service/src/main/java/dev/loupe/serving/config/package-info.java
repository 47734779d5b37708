/** The serving-service's typed configuration. */
package dev.loupe.serving.config;
