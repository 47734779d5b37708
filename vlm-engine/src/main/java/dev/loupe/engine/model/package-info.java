/**
 * The LLaVA-family model: its configuration in Hugging Face's {@code config.json} terms and the block that joins
 * the vision tower, the projector and the Llama decoder.
 */
package dev.loupe.engine.model;
