/**
 * Inference for the serving-service: one base model held once in memory, LoRA adapters served beside it and chosen
 * per batch, chat prompts with pictures encoded as the model was trained on them.
 */
package dev.loupe.engine.serve;
