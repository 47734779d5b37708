/** Typed configuration of the dataset-service. */
package dev.loupe.dataset.config;
