/** The training-service's persistent entities. */
package dev.loupe.training.model;
