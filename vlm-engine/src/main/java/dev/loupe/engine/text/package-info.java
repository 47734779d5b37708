/**
 * Text for the model: Hugging Face {@code tokenizer.json} files (run by the Hugging Face tokenizers library
 * through DJL, offline), a byte-level BPE trainer that writes such files for Loupe's own base models, and the
 * chat template that turns system / user / assistant turns with images into token ids and a loss mask.
 */
package dev.loupe.engine.text;
