/** The dataset-service's units of work, each in one transaction. */
package dev.loupe.dataset.service;
