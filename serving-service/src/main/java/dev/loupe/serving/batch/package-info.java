/**
 * Batch inference, and the reading and answering of dataset examples that batches and scheduled evaluations share.
 */
package dev.loupe.serving.batch;
