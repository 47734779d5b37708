package dev.loupe.gateway.rest;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.loupe.support.error.ProblemException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The image index of {@code GET .../records/{recordId}/images/{index}}: a whole number, 0 or more. */
class ImageIndexTest {

    @ParameterizedTest
    @ValueSource(strings = {"0", "7", "123456789"})
    void wholeNumbersAreIndexes(String index) {
        assertEquals(Integer.parseInt(index), RecordResource.parseIndex(index));
    }

    @ParameterizedTest
    @ValueSource(strings = {"-1", "+1", "1.5", "one", "", " 1", "99999999999"})
    void anythingElseIsRefusedNamingIndex(String index) {
        ProblemException problem = assertThrows(ProblemException.class, () -> RecordResource.parseIndex(index));
        assertEquals("index", problem.field().orElse(null));
    }
}
