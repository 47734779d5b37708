package dev.loupe.training.service;

import java.util.List;
import java.util.function.Function;

/**
 * One page of a list and the cursor of the next one: the cursor of its last item, or empty when none follows.
 *
 * @param <T> the items
 */
public record Page<T>(List<T> items, String nextAfter) {

    /**
     * The page of {@code size} items out of what a query found when asked for {@code size + 1}: one more than the
     * page says another follows.
     */
    public static <T> Page<T> of(List<T> found, int size, Function<T, String> cursor) {
        return found.size() > size
                ? new Page<>(found.subList(0, size), cursor.apply(found.get(size - 1)))
                : new Page<>(found, "");
    }
}
