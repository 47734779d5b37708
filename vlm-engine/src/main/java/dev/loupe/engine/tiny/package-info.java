/**
 * Loupe's own tiny base model and the synthetic world it knows: seeded Java2D scenes of coloured shapes with their
 * captions and questions ({@link dev.loupe.engine.tiny.SyntheticScenes}), exportable in Loupe's native import
 * format; the pretraining run that makes the model from nothing ({@link dev.loupe.engine.tiny.PretrainTinyBase});
 * and the committed checkpoint's loader ({@link dev.loupe.engine.tiny.TinyBase}).
 */
package dev.loupe.engine.tiny;
