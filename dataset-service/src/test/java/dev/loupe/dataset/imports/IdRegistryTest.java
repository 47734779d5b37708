package dev.loupe.dataset.imports;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class IdRegistryTest {

    @Test
    void distinctIdsAreNewAndARepeatNamesTheFirstLine() {
        IdRegistry registry = new IdRegistry();
        for (int i = 1; i <= 200_000; i++) {
            assertEquals(0, registry.register("record-" + i, i), "id " + i);
        }
        assertEquals(200_000, registry.size());
        assertEquals(4242, registry.register("record-4242", 300_000));
        assertEquals(1, registry.register("record-1", 300_001));
        assertEquals(0, registry.register("Record-1", 300_002), "ids are case-sensitive");
    }
}
