/** Typed configuration of the training-service. */
package dev.loupe.training.config;
