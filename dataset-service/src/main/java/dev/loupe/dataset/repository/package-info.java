/** Tenant-scoped data access of the dataset-service. */
package dev.loupe.dataset.repository;
