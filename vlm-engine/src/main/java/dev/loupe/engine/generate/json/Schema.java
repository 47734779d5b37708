package dev.loupe.engine.generate.json;

import java.util.stream.IntStream;

/**
 * A JSON Schema of the supported subset, compiled for the recogniser: names and enum values are kept as the exact
 * bytes a document must contain. {@link SchemaReader} builds it and says what the subset is.
 */
sealed interface Schema {

    /**
     * A closed object whose properties come in the listed order; optional ones may be left out.
     *
     * @param keys each property's name as a JSON string literal, quotes included
     * @param values each property's schema
     * @param keysFrom for {@code next} in {@code 0..n}: the properties that may come when every property before
     *        {@code next} has been written or skipped: from {@code next} up to and including the first required one
     * @param closableFrom for {@code next} in {@code 0..n}: whether the object may close there (no required
     *        property from {@code next} on)
     */
    record ObjectSchema(byte[][] keys, Schema[] values, int[][] keysFrom, boolean[] closableFrom) implements Schema {

        static ObjectSchema of(byte[][] keys, Schema[] values, boolean[] required) {
            int n = keys.length;
            int[][] keysFrom = new int[n + 1][];
            boolean[] closableFrom = new boolean[n + 1];
            for (int next = 0; next <= n; next++) {
                int last = next;
                while (last < n && !required[last]) {
                    last++;
                }
                closableFrom[next] = last == n;
                keysFrom[next] = IntStream.range(next, Math.min(last + 1, n)).toArray();
            }
            return new ObjectSchema(keys, values, keysFrom, closableFrom);
        }
    }

    /** An array of {@code minItems..maxItems} items of one schema. */
    record ArraySchema(Schema items, int minItems, int maxItems) implements Schema {
    }

    /** A string of at most {@code maxLength} Unicode code points ({@link Integer#MAX_VALUE} for no limit). */
    record StringSchema(int maxLength) implements Schema {
    }

    /** A JSON number; with {@code integer}, only {@code -?(0|[1-9][0-9]*)}. */
    record NumberSchema(boolean integer) implements Schema {
    }

    /** One of a few exact values ({@code enum}, {@code boolean}, {@code null}), as distinct JSON texts. */
    record LiteralSchema(byte[][] literals) implements Schema {
    }
}
