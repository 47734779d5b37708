package dev.loupe.engine.tiny;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * What one synthetic picture shows: one to three coloured shapes, each in its own place, and optionally a short
 * word written in the top-left cell. The texts about it (caption, questions and answers) are functions of the
 * content alone, so two scenes with the same content have the same texts whatever their pixels.
 *
 * @param items the shapes, in {@link Place} order (the caption's reading order)
 * @param word the written word, or null for none
 * @param wordX the word's left edge in pixels (unused without a word)
 * @param wordY the word's top edge in pixels (unused without a word)
 */
public record Scene(List<Item> items, String word, int wordX, int wordY) {

    /** The question whose answer is the caption. */
    public static final String CAPTION_QUESTION = "Describe the image.";
    /** What a JSON question ends with; the answer is then one JSON object. */
    public static final String JSON_SUFFIX = " Answer in JSON.";
    /** The question of {@link #colours()}. */
    public static final String COLOURS_QUESTION = "List the colours of the shapes." + JSON_SUFFIX;

    public Scene {
        if (items.isEmpty()) {
            throw new IllegalArgumentException("a scene has at least one shape");
        }
        items = items.stream().sorted(Comparator.comparing(Item::place)).toList();
        for (int i = 1; i < items.size(); i++) {
            if (items.get(i).place() == items.get(i - 1).place()) {
                throw new IllegalArgumentException("two shapes in one place: " + items.get(i).place());
            }
        }
    }

    /** The kinds of shape. */
    public enum ShapeType {
        CIRCLE, SQUARE, TRIANGLE;

        public String word() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The palette: few colours, far apart, so that a colour is never a matter of judgement. */
    public enum Colour {
        RED(0xDC2828), GREEN(0x28AA3C), BLUE(0x2850DC), YELLOW(0xF0C81E), PURPLE(0x8C3CB4), BROWN(0x8C5A28);

        private final int rgb;

        Colour(int rgb) {
            this.rgb = rgb;
        }

        /** {@code 0xRRGGBB}. */
        public int rgb() {
            return rgb;
        }

        public String word() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * The five places a shape can take: the cells of a 3 x 3 grid in a plus pattern, the corners staying free for
     * the word. Declared in reading order, which is the order the caption names the shapes in.
     */
    public enum Place {
        TOP("at the top", 1, 0), LEFT("on the left", 0, 1), CENTER("in the center", 1, 1), RIGHT("on the right", 2,
                1), BOTTOM("at the bottom", 1, 2);

        private final String phrase;
        private final int column;
        private final int row;

        Place(String phrase, int column, int row) {
            this.phrase = phrase;
            this.column = column;
            this.row = row;
        }

        /** "on the left", as the caption says it. */
        public String phrase() {
            return phrase;
        }

        /** The centre of the place's cell in pixels, before jitter. */
        public int x() {
            return column * SyntheticScenes.CELL + SyntheticScenes.CELL / 2;
        }

        public int y() {
            return row * SyntheticScenes.CELL + SyntheticScenes.CELL / 2;
        }
    }

    /**
     * One shape as drawn.
     *
     * @param centreX the drawn centre in pixels, the place's centre plus jitter
     * @param size the width and height of the shape's bounding square in pixels
     */
    public record Item(ShapeType shape, Colour colour, Place place, int centreX, int centreY, int size) {

        /** "a red circle". */
        public String description() {
            return "a " + colour.word() + " " + shape.word();
        }

        /** {@code {"shape": "circle", "colour": "red"}}: the JSON answer form, with a space after each separator. */
        public String json() {
            return "{\"shape\": \"" + shape.word() + "\", \"colour\": \"" + colour.word() + "\"}";
        }
    }

    /** A question about the scene with its one right answer. */
    public record QuestionAnswer(String question, String answer) {
    }

    /**
     * A task the tiny base never saw (the fine-tuning demo's and tests'): the colours of the shapes in reading order
     * as a JSON object, e.g. {@code {"colours": ["red", "blue"]}}.
     */
    public QuestionAnswer colours() {
        List<String> quoted = items.stream().map(item -> "\"" + item.colour().word() + "\"").toList();
        return new QuestionAnswer(COLOURS_QUESTION, "{\"colours\": [" + String.join(", ", quoted) + "]}");
    }

    public Optional<String> writtenWord() {
        return Optional.ofNullable(word);
    }

    /**
     * The canonical caption: the shapes in reading order, then the word, joined as a list ("a, b and c"), e.g.
     * {@code a blue square at the top, a red circle on the left and the word SUN}.
     */
    public String caption() {
        List<String> parts = new ArrayList<>();
        for (Item item : items) {
            parts.add(item.description() + " " + item.place().phrase());
        }
        if (word != null) {
            parts.add("the word " + word);
        }
        if (parts.size() == 1) {
            return parts.get(0);
        }
        return String.join(", ", parts.subList(0, parts.size() - 1)) + " and " + parts.get(parts.size() - 1);
    }

    /**
     * Every question this scene answers unambiguously, with its answer. A question about "the circle" is asked
     * only where there is exactly one circle, and so on.
     */
    public List<QuestionAnswer> questionAnswers() {
        List<QuestionAnswer> all = new ArrayList<>();
        all.add(new QuestionAnswer("How many shapes are there?", String.valueOf(items.size())));
        all.add(new QuestionAnswer("What word is written?", word == null ? "none" : word));
        for (Place place : Place.values()) {
            Optional<Item> there = at(place);
            all.add(new QuestionAnswer("What is " + place.phrase() + "?",
                    there.map(Item::description).orElse("nothing")));
            there.ifPresent(item -> all.add(new QuestionAnswer("What is " + place.phrase() + "?" + JSON_SUFFIX,
                    item.json())));
        }
        for (Item item : items) {
            if (items.stream().filter(other -> other.shape() == item.shape()).count() == 1) {
                all.add(new QuestionAnswer("What colour is the " + item.shape().word() + "?", item.colour().word()));
            }
            if (items.stream().filter(other -> other.description().equals(item.description())).count() == 1) {
                all.add(new QuestionAnswer("Where is the " + item.colour().word() + " " + item.shape().word() + "?",
                        item.place().phrase()));
            }
        }
        return all;
    }

    /** The shape in a place, if any. */
    public Optional<Item> at(Place place) {
        return items.stream().filter(item -> item.place() == place).findFirst();
    }
}
