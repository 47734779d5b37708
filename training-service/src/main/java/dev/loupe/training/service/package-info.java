/** The training-service's units of work, each in one transaction. */
package dev.loupe.training.service;
