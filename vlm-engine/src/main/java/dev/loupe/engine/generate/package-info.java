/**
 * Text generation: Loupe's own loop (DJL's TextGenerator has no sampling and a fixed end token), with a KV cache,
 * greedy or temperature / top-k / top-p sampling, stop tokens and batches of prompts of different lengths. Rows
 * may be constrained to JSON documents of a schema (package {@code dev.loupe.engine.generate.json}).
 */
package dev.loupe.engine.generate;
