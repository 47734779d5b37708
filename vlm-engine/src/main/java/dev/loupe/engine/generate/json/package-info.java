/**
 * JSON-Schema-constrained decoding: a byte-level recogniser of the valid prefixes of documents a schema accepts
 * ({@link dev.loupe.engine.generate.json.JsonPrefix}), the tokens' bytes in a trie
 * ({@link dev.loupe.engine.generate.json.TokenVocabulary}), and the per-step mask the generator applies before
 * sampling ({@link dev.loupe.engine.generate.json.JsonConstraint}), whose Javadoc lists the supported schemas.
 */
package dev.loupe.engine.generate.json;
