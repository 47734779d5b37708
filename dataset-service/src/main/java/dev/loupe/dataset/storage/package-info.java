/**
 * Encrypted image storage: each image is sealed with AES-256-GCM under its own data key, bound to its tenant,
 * dataset, record and position by the additional authenticated data, and written to a {@link
 * dev.loupe.dataset.storage.BlobStore}; only the data key's wrapping under the dataset's KEK is kept in the
 * database.
 */
package dev.loupe.dataset.storage;
