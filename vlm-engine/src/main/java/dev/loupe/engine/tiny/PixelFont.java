package dev.loupe.engine.tiny;

import java.awt.Graphics2D;
import java.util.Map;

/**
 * A 3 x 5 dot font for the scenes' words, each dot a {@value #DOT} x {@value #DOT} pixel square. A font of our own
 * rather than one of the system's: which fonts a machine has (and how it rasterises them) would change the
 * pictures, and the corpus must be the same everywhere. Large dots rather than a finer font, because the tiny model
 * never learned to tell 1-pixel 5 x 7 letters apart. It holds the letters of {@link SyntheticScenes#WORDS} only.
 */
final class PixelFont {
    /** Side of one dot in pixels. */
    static final int DOT = 2;
    static final int WIDTH = 3 * DOT;
    static final int HEIGHT = 5 * DOT;
    /** From one letter's left edge to the next one's. */
    static final int ADVANCE = WIDTH + DOT;

    private static final Map<Character, String[]> GLYPHS = Map.ofEntries(
            Map.entry('A', new String[]{".#.", "#.#", "###", "#.#", "#.#"}),
            Map.entry('B', new String[]{"##.", "#.#", "##.", "#.#", "##."}),
            Map.entry('C', new String[]{".##", "#..", "#..", "#..", ".##"}),
            Map.entry('D', new String[]{"##.", "#.#", "#.#", "#.#", "##."}),
            Map.entry('G', new String[]{".##", "#..", "#.#", "#.#", ".##"}),
            Map.entry('H', new String[]{"#.#", "#.#", "###", "#.#", "#.#"}),
            Map.entry('N', new String[]{"##.", "#.#", "#.#", "#.#", "#.#"}),
            Map.entry('O', new String[]{".#.", "#.#", "#.#", "#.#", ".#."}),
            Map.entry('P', new String[]{"##.", "#.#", "##.", "#..", "#.."}),
            Map.entry('S', new String[]{".##", "#..", ".#.", "..#", "##."}),
            Map.entry('T', new String[]{"###", ".#.", ".#.", ".#.", ".#."}),
            Map.entry('U', new String[]{"#.#", "#.#", "#.#", "#.#", "###"}),
            Map.entry('X', new String[]{"#.#", "#.#", ".#.", "#.#", "#.#"}));

    private PixelFont() {
    }

    /** Draws a word with its top-left corner at (x, y) in the graphics' current colour. */
    static void draw(Graphics2D graphics, String word, int x, int y) {
        for (int i = 0; i < word.length(); i++) {
            String[] rows = GLYPHS.get(word.charAt(i));
            if (rows == null) {
                throw new IllegalArgumentException("the pixel font has no letter " + word.charAt(i));
            }
            for (int row = 0; row < rows.length; row++) {
                for (int column = 0; column < rows[row].length(); column++) {
                    if (rows[row].charAt(column) == '#') {
                        graphics.fillRect(x + i * ADVANCE + column * DOT, y + row * DOT, DOT, DOT);
                    }
                }
            }
        }
    }

    /** Width in pixels of a word of {@code letters} letters. */
    static int width(int letters) {
        return letters * ADVANCE - DOT;
    }

    /** Whether every letter of the word has a glyph. */
    static boolean canDraw(String word) {
        return word.chars().allMatch(c -> GLYPHS.containsKey((char) c));
    }
}
