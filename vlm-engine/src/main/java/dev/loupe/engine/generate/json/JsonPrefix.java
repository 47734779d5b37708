package dev.loupe.engine.generate.json;

import java.util.Arrays;
import java.util.function.IntFunction;
import java.util.stream.IntStream;

import dev.loupe.engine.generate.json.Schema.ArraySchema;
import dev.loupe.engine.generate.json.Schema.LiteralSchema;
import dev.loupe.engine.generate.json.Schema.NumberSchema;
import dev.loupe.engine.generate.json.Schema.ObjectSchema;
import dev.loupe.engine.generate.json.Schema.StringSchema;

/**
 * Where a JSON document that a schema constrains stands after the bytes read so far: a state of a pushdown
 * recogniser of the schema's valid prefixes, read byte by byte (UTF-8 text, so a token may end inside a
 * character). States are immutable: reading a byte returns a new state and leaves this one as it was, so the
 * mask builder tries every token from the same state, and a token shared by many continuations is checked once.
 *
 * <p>
 * The stack is a chain of frames: each frame holds the state its enclosing value resumes in once the frame's own
 * value is complete (an object waiting for a comma, an array for its next item, or the finished document). Only
 * the top frame changes as bytes are read, so a step allocates one small object.
 */
public abstract class JsonPrefix {
    /**
     * The longest run of whitespace allowed between two tokens of the document: enough for pretty-printing, short
     * enough that a model cannot spend its whole budget on blanks.
     */
    public static final int MAX_BLANKS = 32;

    private static final JsonPrefix FINISHED = new Finished();

    JsonPrefix() {
    }

    /** The state before the first byte of a document of this schema. */
    static JsonPrefix start(Schema schema) {
        return new ValueStart(schema, FINISHED, 0);
    }

    /**
     * @param b a byte, {@code 0..255}
     * @return the state after it, or null when no valid document goes on with it
     */
    abstract JsonPrefix accept(int b);

    /** @return the state after these bytes, or null when no valid document goes on with them */
    final JsonPrefix accept(byte[] bytes) {
        JsonPrefix state = this;
        for (int i = 0; i < bytes.length && state != null; i++) {
            state = state.accept(bytes[i] & 0xff);
        }
        return state;
    }

    /**
     * Whether the bytes read so far are a complete document. A top-level number (or number enum) may still go on
     * (12 can become 123); any other complete document is {@link #isFinished() finished}.
     */
    public boolean canEnd() {
        return false;
    }

    /** Whether the document is complete and nothing, not even whitespace, may follow it. */
    public boolean isFinished() {
        return false;
    }

    private static boolean isBlank(int b) {
        return b == ' ' || b == '\n' || b == '\r' || b == '\t';
    }

    private static boolean isDigit(int b) {
        return b >= '0' && b <= '9';
    }

    /** The state after the first byte of a value (never whitespace: whoever waits for the value reads that). */
    private static JsonPrefix begin(Schema schema, JsonPrefix parent, int b) {
        if (schema instanceof ObjectSchema object) {
            return b == '{' ? new ObjectFrame(object, parent, ObjectFrame.Phase.OPEN, 0, 0) : null;
        }
        if (schema instanceof ArraySchema array) {
            return b == '[' ? new ArrayFrame(array, parent, ArrayFrame.Phase.OPEN, 0, 0) : null;
        }
        if (schema instanceof StringSchema string) {
            return b == '"' ? new StringFrame(string.maxLength(), parent, 0, StringFrame.Mode.TEXT, 0, 0, 0) : null;
        }
        if (schema instanceof NumberSchema number) {
            return new NumberFrame(number.integer(), parent, NumberFrame.Phase.START).accept(b);
        }
        LiteralSchema literal = (LiteralSchema) schema;
        int[] all = IntStream.range(0, literal.literals().length).toArray();
        return new LiteralFrame(literal.literals(), all, 0, index -> parent).accept(b);
    }

    /** The document is complete. */
    private static final class Finished extends JsonPrefix {
        @Override
        JsonPrefix accept(int b) {
            return null;
        }

        @Override
        public boolean canEnd() {
            return true;
        }

        @Override
        public boolean isFinished() {
            return true;
        }
    }

    /** Before a value: at the document's start or after a colon. */
    private static final class ValueStart extends JsonPrefix {
        private final Schema schema;
        private final JsonPrefix parent;
        private final int blanks;

        ValueStart(Schema schema, JsonPrefix parent, int blanks) {
            this.schema = schema;
            this.parent = parent;
            this.blanks = blanks;
        }

        @Override
        JsonPrefix accept(int b) {
            if (isBlank(b)) {
                return blanks < MAX_BLANKS ? new ValueStart(schema, parent, blanks + 1) : null;
            }
            return begin(schema, parent, b);
        }
    }

    /** Inside an object, outside its keys and values. */
    private static final class ObjectFrame extends JsonPrefix {
        enum Phase {
            /** after the opening brace */
            OPEN,
            /** after the key of property {@code next}, before the colon */
            KEY,
            /** after a value; {@code next} is the first property that may still come */
            VALUE,
            /** after a comma */
            COMMA
        }

        private final ObjectSchema schema;
        private final JsonPrefix parent;
        private final Phase phase;
        private final int next;
        private final int blanks;

        ObjectFrame(ObjectSchema schema, JsonPrefix parent, Phase phase, int next, int blanks) {
            this.schema = schema;
            this.parent = parent;
            this.phase = phase;
            this.next = next;
            this.blanks = blanks;
        }

        @Override
        JsonPrefix accept(int b) {
            if (isBlank(b)) {
                return blanks < MAX_BLANKS ? new ObjectFrame(schema, parent, phase, next, blanks + 1) : null;
            }
            return switch (phase) {
                case OPEN -> b == '}' && schema.closableFrom()[next] ? parent : key(b);
                case KEY -> b == ':'
                        ? new ValueStart(schema.values()[next],
                                new ObjectFrame(schema, parent, Phase.VALUE, next + 1, 0), 0)
                        : null;
                case VALUE -> {
                    if (b == ',' && schema.keysFrom()[next].length > 0) {
                        yield new ObjectFrame(schema, parent, Phase.COMMA, next, 0);
                    }
                    yield b == '}' && schema.closableFrom()[next] ? parent : null;
                }
                case COMMA -> key(b);
            };
        }

        private JsonPrefix key(int b) {
            int[] candidates = schema.keysFrom()[next];
            if (candidates.length == 0) {
                return null;
            }
            return new LiteralFrame(schema.keys(), candidates, 0,
                    index -> new ObjectFrame(schema, parent, Phase.KEY, index, 0)).accept(b);
        }
    }

    /** Inside an array, outside its items. */
    private static final class ArrayFrame extends JsonPrefix {
        enum Phase {
            /** after the opening bracket */
            OPEN,
            /** after an item */
            ITEM,
            /** after a comma */
            COMMA
        }

        private final ArraySchema schema;
        private final JsonPrefix parent;
        private final Phase phase;
        private final int items;
        private final int blanks;

        ArrayFrame(ArraySchema schema, JsonPrefix parent, Phase phase, int items, int blanks) {
            this.schema = schema;
            this.parent = parent;
            this.phase = phase;
            this.items = items;
            this.blanks = blanks;
        }

        @Override
        JsonPrefix accept(int b) {
            if (isBlank(b)) {
                return blanks < MAX_BLANKS ? new ArrayFrame(schema, parent, phase, items, blanks + 1) : null;
            }
            boolean closable = items >= schema.minItems();
            return switch (phase) {
                case OPEN -> {
                    if (b == ']') {
                        yield closable ? parent : null;
                    }
                    yield schema.maxItems() > 0 ? item(b) : null;
                }
                case ITEM -> {
                    if (b == ',') {
                        yield items < schema.maxItems() ? new ArrayFrame(schema, parent, Phase.COMMA, items, 0) : null;
                    }
                    yield b == ']' && closable ? parent : null;
                }
                case COMMA -> item(b);
            };
        }

        private JsonPrefix item(int b) {
            return begin(schema.items(), new ArrayFrame(schema, parent, Phase.ITEM, items + 1, 0), b);
        }
    }

    /** Inside a string, after its opening quote. */
    private static final class StringFrame extends JsonPrefix {
        enum Mode {
            /** between characters */
            TEXT,
            /** after a backslash */
            ESCAPE,
            /** inside a <code>&#92;uXXXX</code> escape: {@code pending} hex digits to come */
            HEX,
            /** inside a multi-byte UTF-8 character: {@code pending} continuation bytes to come */
            UTF8
        }

        private final int maxLength;
        private final JsonPrefix parent;
        /** Characters so far, each escape and each code point counting one. */
        private final int chars;
        private final Mode mode;
        private final int pending;
        /** The range the next UTF-8 continuation byte must fall in. */
        private final int low;
        private final int high;

        StringFrame(int maxLength, JsonPrefix parent, int chars, Mode mode, int pending, int low, int high) {
            this.maxLength = maxLength;
            this.parent = parent;
            this.chars = chars;
            this.mode = mode;
            this.pending = pending;
            this.low = low;
            this.high = high;
        }

        @Override
        JsonPrefix accept(int b) {
            return switch (mode) {
                case TEXT -> text(b);
                case ESCAPE -> {
                    if (b == 'u') {
                        yield with(Mode.HEX, chars, 4, 0, 0);
                    }
                    yield "\"\\/bfnrt".indexOf(b) >= 0 ? with(Mode.TEXT, chars, 0, 0, 0) : null;
                }
                case HEX -> {
                    if (!isDigit(b) && !(b >= 'a' && b <= 'f') && !(b >= 'A' && b <= 'F')) {
                        yield null;
                    }
                    yield pending == 1 ? with(Mode.TEXT, chars, 0, 0, 0) : with(Mode.HEX, chars, pending - 1, 0, 0);
                }
                case UTF8 -> {
                    if (b < low || b > high) {
                        yield null;
                    }
                    yield pending == 1
                            ? with(Mode.TEXT, chars, 0, 0, 0)
                            : with(Mode.UTF8, chars, pending - 1, 0x80, 0xBF);
                }
            };
        }

        /**
         * A byte between characters. The lead-byte table is RFC 3629's: no overlong forms, no UTF-16 surrogates,
         * nothing above U+10FFFF; the first continuation byte's range is what rules those out.
         */
        private JsonPrefix text(int b) {
            if (b == '"') {
                return parent;
            }
            if (chars == maxLength || b < 0x20) {
                // Every other byte starts a character; raw control characters must be escaped in JSON.
                return null;
            }
            int counted = chars + 1;
            if (b == '\\') {
                return with(Mode.ESCAPE, counted, 0, 0, 0);
            }
            if (b < 0x80) {
                return with(Mode.TEXT, counted, 0, 0, 0);
            }
            if (b >= 0xC2 && b <= 0xDF) {
                return with(Mode.UTF8, counted, 1, 0x80, 0xBF);
            }
            if (b == 0xE0) {
                return with(Mode.UTF8, counted, 2, 0xA0, 0xBF);
            }
            if (b == 0xED) {
                return with(Mode.UTF8, counted, 2, 0x80, 0x9F);
            }
            if (b >= 0xE1 && b <= 0xEF) {
                return with(Mode.UTF8, counted, 2, 0x80, 0xBF);
            }
            if (b == 0xF0) {
                return with(Mode.UTF8, counted, 3, 0x90, 0xBF);
            }
            if (b >= 0xF1 && b <= 0xF3) {
                return with(Mode.UTF8, counted, 3, 0x80, 0xBF);
            }
            if (b == 0xF4) {
                return with(Mode.UTF8, counted, 3, 0x80, 0x8F);
            }
            return null;
        }

        private StringFrame with(Mode newMode, int newChars, int newPending, int newLow, int newHigh) {
            return new StringFrame(maxLength, parent, newChars, newMode, newPending, newLow, newHigh);
        }
    }

    /** Inside a number: {@code -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?}, an integer without the last two. */
    private static final class NumberFrame extends JsonPrefix {
        enum Phase {
            START(false), MINUS(false), ZERO(true), INTEGER(true), POINT(false), FRACTION(true), E(
                    false), EXPONENT_SIGN(false), EXPONENT(true);

            /** Whether a number may end in this phase. */
            final boolean complete;

            Phase(boolean complete) {
                this.complete = complete;
            }
        }

        private final boolean integer;
        private final JsonPrefix parent;
        private final Phase phase;

        NumberFrame(boolean integer, JsonPrefix parent, Phase phase) {
            this.integer = integer;
            this.parent = parent;
            this.phase = phase;
        }

        @Override
        JsonPrefix accept(int b) {
            Phase next = next(b);
            if (next != null) {
                // A long run of digits stays in one phase: share the state instead of copying it.
                return next == phase ? this : new NumberFrame(integer, parent, next);
            }
            // A number has no closing mark: the first byte that cannot continue it belongs to what follows.
            return phase.complete ? parent.accept(b) : null;
        }

        private Phase next(int b) {
            boolean digit = isDigit(b);
            boolean fractionOrExponent = !integer && (phase == Phase.ZERO || phase == Phase.INTEGER);
            return switch (phase) {
                case START -> b == '-' ? Phase.MINUS : b == '0' ? Phase.ZERO : digit ? Phase.INTEGER : null;
                case MINUS -> b == '0' ? Phase.ZERO : digit ? Phase.INTEGER : null;
                case ZERO, INTEGER -> {
                    if (phase == Phase.INTEGER && digit) {
                        yield Phase.INTEGER;
                    }
                    if (fractionOrExponent && b == '.') {
                        yield Phase.POINT;
                    }
                    yield fractionOrExponent && (b == 'e' || b == 'E') ? Phase.E : null;
                }
                case POINT -> digit ? Phase.FRACTION : null;
                case FRACTION -> digit ? Phase.FRACTION : b == 'e' || b == 'E' ? Phase.E : null;
                case E -> b == '+' || b == '-' ? Phase.EXPONENT_SIGN : digit ? Phase.EXPONENT : null;
                case EXPONENT_SIGN, EXPONENT -> digit ? Phase.EXPONENT : null;
            };
        }

        @Override
        public boolean canEnd() {
            return phase.complete && parent.canEnd();
        }
    }

    /**
     * Inside one of a few exact byte strings: an enum value, {@code true}, {@code false}, {@code null}, or an
     * object's key.
     */
    private static final class LiteralFrame extends JsonPrefix {
        private final byte[][] literals;
        /** The literals that begin with the bytes read so far. */
        private final int[] candidates;
        private final int read;
        /** The state after a literal, by its index. */
        private final IntFunction<JsonPrefix> then;

        LiteralFrame(byte[][] literals, int[] candidates, int read, IntFunction<JsonPrefix> then) {
            this.literals = literals;
            this.candidates = candidates;
            this.read = read;
            this.then = then;
        }

        @Override
        JsonPrefix accept(int b) {
            int[] kept = new int[candidates.length];
            int count = 0;
            for (int candidate : candidates) {
                byte[] literal = literals[candidate];
                if (literal.length > read && (literal[read] & 0xff) == b) {
                    kept[count++] = candidate;
                }
            }
            if (count == 1 && literals[kept[0]].length == read + 1) {
                // Complete and nothing longer shares its start: strings, keys, true, false and null end here.
                return then.apply(kept[0]);
            }
            if (count > 0) {
                return new LiteralFrame(literals, Arrays.copyOf(kept, count), read + 1, then);
            }
            // A number literal that 12 could extend (enum [1, 12]) ends at the first byte that does not extend it.
            int complete = complete();
            return complete < 0 ? null : then.apply(complete).accept(b);
        }

        @Override
        public boolean canEnd() {
            int complete = complete();
            return complete >= 0 && then.apply(complete).canEnd();
        }

        /** @return the candidate read in full, or -1 (literals are distinct, so at most one is) */
        private int complete() {
            for (int candidate : candidates) {
                if (literals[candidate].length == read) {
                    return candidate;
                }
            }
            return -1;
        }
    }
}
