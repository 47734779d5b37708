/** Data access of the training-service. */
package dev.loupe.training.repository;
