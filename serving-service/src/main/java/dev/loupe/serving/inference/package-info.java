/**
 * Inference inside the serving-service: each base model is held once ({@link dev.loupe.serving.inference.BaseHost}),
 * deployments' adapters beside it, and one thread per base generates batches of the requests waiting for it.
 */
package dev.loupe.serving.inference;
