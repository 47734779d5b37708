/**
 * Fine-tuning a {@link dev.loupe.engine.model.LlavaModel}: the training loop ({@link TrainingLoop}) with its own
 * AdamW, learning-rate schedule, global-norm gradient clipping, gradient accumulation and dynamic loss scaling,
 * and checkpoints that resume a run bit for bit ({@link TrainingCheckpoint}). DJL's {@code Trainer} is not used:
 * it clips element-wise, has no loss scaling and keeps optimizer state where a checkpoint cannot reach it.
 */
package dev.loupe.engine.train;
