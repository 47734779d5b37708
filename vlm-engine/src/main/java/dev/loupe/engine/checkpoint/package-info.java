/**
 * Checkpoints in the Hugging Face layout: safetensors files (single or sharded), read through memory maps with
 * 16-bit floats widened to 32-bit, and written atomically.
 */
package dev.loupe.engine.checkpoint;
