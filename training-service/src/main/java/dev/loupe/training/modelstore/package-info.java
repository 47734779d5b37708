/**
 * The platform's model store: where base model checkpoints lie, how a caller's {@code storage_uri} is confined to
 * it, and what registering a checkpoint reads from its folder (file hashes, configuration, parameter count).
 */
package dev.loupe.training.modelstore;
