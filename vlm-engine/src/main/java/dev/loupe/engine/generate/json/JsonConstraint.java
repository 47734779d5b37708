package dev.loupe.engine.generate.json;

import java.util.BitSet;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Constrains generation to JSON documents that a schema accepts: before each step the generator sets the logit of
 * every token that cannot continue a valid document to minus infinity, so whatever the sampler picks, the text
 * stays a prefix of a valid document, and a row that ends with a stop token holds one in full.
 *
 * <h2>Schemas</h2> The supported subset of JSON Schema; any other keyword is refused with an
 * {@link IllegalArgumentException} that names its JSON pointer:
 * <ul>
 * <li>{@code type}: one of {@code object}, {@code array}, {@code string}, {@code number}, {@code integer},
 * {@code boolean}, {@code null} (a single type, not a list);</li>
 * <li>objects: {@code properties}, {@code required}, {@code additionalProperties: false}. Objects are always
 * closed (a missing {@code additionalProperties} counts as false; true or a schema is refused), and properties
 * are written in the order {@code properties} lists them: optional ones may be left out, required ones never;</li>
 * <li>arrays: {@code items} (one schema, required), {@code minItems}, {@code maxItems};</li>
 * <li>strings: {@code maxLength} (Unicode code points; an escape such as {@code \n} or <code>&#92;u00e9</code> counts as
 * one, so a surrogate pair written as two escapes counts as two, which errs on the safe side);</li>
 * <li>{@code enum} of strings, numbers, booleans or null, with or without a {@code type} that they all match;</li>
 * <li>the annotations {@code $schema}, {@code $comment}, {@code title} and {@code description}, which change
 * nothing.</li>
 * </ul>
 *
 * <h2>What the documents look like</h2>
 * <ul>
 * <li>An {@code integer} is written {@code -?(0|[1-9][0-9]*)}: no fraction or exponent, though JSON Schema would
 * take {@code 1.0}.</li>
 * <li>Property names and enum values are written exactly as Jackson writes them (no other escaping of a name,
 * {@code 1.5} and not {@code 15e-1}).</li>
 * <li>Whitespace may go wherever JSON allows it inside the document, at most {@value JsonPrefix#MAX_BLANKS} bytes
 * in a row, so that pretty-printing works but blanks cannot fill the budget; none before the stop token.</li>
 * <li>The stop tokens are allowed exactly when the document is complete. Once it is complete, they are the only
 * tokens allowed; a top-level number is the exception, since {@code 12} may still become {@code 123}.</li>
 * <li>Free text (strings and numbers) is unbounded unless the schema bounds it: the generator's
 * {@code maxNewTokens} still applies, and a row it cuts off is reported as incomplete, not as JSON.</li>
 * </ul>
 *
 * <p>
 * Masks work on the tokens' bytes, so a token may end inside a multi-byte UTF-8 character and the next one
 * finish it. The mask walks a trie of the vocabulary's byte strings from the row's {@link JsonPrefix}, dropping a
 * whole subtree at the first byte the state rejects. Instances are immutable and may be shared across rows and
 * threads.
 */
public final class JsonConstraint {
    private final Schema schema;
    private final TokenVocabulary vocabulary;

    private JsonConstraint(Schema schema, TokenVocabulary vocabulary) {
        this.schema = schema;
        this.vocabulary = vocabulary;
    }

    /**
     * @param schema a JSON Schema of the subset above
     * @throws IllegalArgumentException naming the JSON pointer of the first unsupported keyword
     */
    public static JsonConstraint of(JsonNode schema, TokenVocabulary vocabulary) {
        return new JsonConstraint(SchemaReader.read(schema), vocabulary);
    }

    /** The state before the document's first token. */
    public JsonPrefix start() {
        return JsonPrefix.start(schema);
    }

    /**
     * The tokens of the vocabulary whose bytes continue the document from this state; stop tokens, which have no
     * bytes, are for the caller to add when {@link JsonPrefix#canEnd()}.
     */
    public BitSet allowedTokens(JsonPrefix prefix) {
        BitSet allowed = new BitSet(vocabulary.size());
        walk(vocabulary.root(), prefix, allowed);
        return allowed;
    }

    private static void walk(TokenVocabulary.Node node, JsonPrefix prefix, BitSet allowed) {
        for (int i = 0; i < node.labels.length; i++) {
            JsonPrefix next = prefix.accept(node.labels[i] & 0xff);
            if (next != null) {
                TokenVocabulary.Node child = node.children[i];
                for (int token : child.tokens) {
                    allowed.set(token);
                }
                walk(child, next, allowed);
            }
        }
    }

    /**
     * Sets the logit of every token that cannot come next to minus infinity. A stop token is allowed exactly when
     * the document may end here, whatever bytes it has.
     *
     * @param logits one row of the model's logits, at least as long as the vocabulary; ids beyond the vocabulary
     *        are masked
     */
    public void mask(JsonPrefix prefix, double[] logits, Set<Long> stopTokens) {
        if (logits.length < vocabulary.size()) {
            throw new IllegalArgumentException("a logits row of " + logits.length + " is shorter than the vocabulary ("
                    + vocabulary.size() + ")");
        }
        BitSet allowed = allowedTokens(prefix);
        for (long stop : stopTokens) {
            if (stop >= 0 && stop < logits.length) {
                allowed.set((int) stop, prefix.canEnd());
            }
        }
        for (int token = allowed.nextClearBit(0); token < logits.length; token = allowed.nextClearBit(token + 1)) {
            logits[token] = Double.NEGATIVE_INFINITY;
        }
    }

    /**
     * The state after a token that {@link #mask} allowed.
     *
     * @throws IllegalArgumentException if the token cannot continue the document
     */
    public JsonPrefix advance(JsonPrefix prefix, long token) {
        byte[] bytes = vocabulary.bytes(token);
        JsonPrefix next = bytes == null ? null : prefix.accept(bytes);
        if (next == null) {
            throw new IllegalArgumentException("token " + token + " cannot continue the JSON document");
        }
        return next;
    }
}
