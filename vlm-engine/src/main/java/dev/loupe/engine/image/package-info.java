/**
 * Pictures for the model: decoding PNG and JPEG files and turning them into the vision tower's pixel input the way
 * the checkpoint's {@code preprocessor_config.json} says.
 */
package dev.loupe.engine.image;
