package dev.loupe.gateway.api;

import java.util.List;

/**
 * One page of a list. Pass {@code next_after} as the {@code after} query parameter to get the next page; it
 * is absent on the last page.
 */
public record ListPage<T>(String object, List<T> data, boolean hasMore, String nextAfter) {

    public static <T> ListPage<T> of(List<T> data, boolean hasMore, String nextAfter) {
        return new ListPage<>("list", data, hasMore, hasMore ? nextAfter : null);
    }
}
