package dev.loupe.dataset.imports;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImportLimitsTest {

    @Test
    void defaultsAreTheDocumentedOnes() {
        ImportLimits limits = ImportLimits.defaults();
        assertEquals(8 * 1024 * 1024, limits.maxLineBytes());
        assertEquals(10, limits.maxImagesPerRecord());
        assertEquals(10 * 1024 * 1024, limits.maxImageBytes());
        assertEquals(4096, limits.maxSequenceTokens());
        assertEquals(576, limits.imageTokens());
        assertEquals(5, limits.tokensPerMessage());
        assertEquals(1_000_000, limits.maxRecords());
        assertEquals(256, limits.maxIdLength());
        assertEquals(64, limits.maxJsonDepth());
        assertEquals(20, limits.maxErrorsPerLine());
        assertEquals(1_000, limits.maxReportedLines());
    }

    @Test
    void builderChangesOneSettingAndKeepsTheRest() {
        ImportLimits limits = ImportLimits.defaults().toBuilder().optMaxImagesPerRecord(3).build();
        assertEquals(3, limits.maxImagesPerRecord());
        assertEquals(ImportLimits.defaults(), limits.toBuilder().optMaxImagesPerRecord(10).build());
    }

    @Test
    void outOfRangeSettingsAreRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ImportLimits.builder().optMaxLineBytes(10).build());
        assertTrue(e.getMessage().contains("maxLineBytes"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ImportLimits.builder().optMaxSequenceTokens(0).build());
    }
}
