/**
 * The model's building blocks on DJL's Block API (Llama-style decoder parts first). Shapes are in each block's
 * Javadoc: B batch, T query positions, S key positions, C model width, H heads, K key/value heads, D head width.
 * Scalars that meet arrays needing gradients are arrays themselves ({@link Scalars}), never Java numbers: DJL's
 * PyTorch engine frees a wrapped Java scalar before the backward pass reads it.
 */
package dev.loupe.engine.nn;
