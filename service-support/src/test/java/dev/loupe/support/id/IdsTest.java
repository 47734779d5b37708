package dev.loupe.support.id;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IdsTest {

    @Test
    void idsAreVersion7AndSortByCreationTime() {
        List<UUID> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            ids.add(Ids.newId());
            // Next id in a later millisecond: within one millisecond the order is random by design.
            long now = System.currentTimeMillis();
            while (System.currentTimeMillis() == now) {
                Thread.onSpinWait();
            }
        }
        for (UUID id : ids) {
            assertEquals(7, id.version());
            assertEquals(2, id.variant());
        }
        List<UUID> sorted = new ArrayList<>(ids);
        sorted.sort(null);
        assertEquals(ids, sorted);
        long millis = ids.get(0).getMostSignificantBits() >>> 16;
        assertTrue(Math.abs(System.currentTimeMillis() - millis) < 10_000);
    }

    @Test
    void malformedIdsParseToEmpty() {
        assertEquals(Optional.empty(), Ids.parse("42"));
        assertEquals(Optional.empty(), Ids.parse(null));
        assertEquals(Optional.empty(), Ids.parse("zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"));
        UUID id = Ids.newId();
        assertEquals(Optional.of(id), Ids.parse(id.toString()));
    }
}
