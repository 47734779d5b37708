package dev.loupe.dataset.images;

import java.io.InputStream;
import java.time.Duration;

import org.junit.jupiter.api.Test;

import static dev.loupe.dataset.images.Allocations.allocatedBy;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeout;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Files whose header claims far more than they hold are refused from the header: fast, and without allocating
 * anything of the claimed size. Allocation is measured per thread with HotSpot's counter, so the figures include
 * every temporary object of the inspection.
 */
class DecompressionBombTest {
    /** Far below what decoding 50,000 x 50,000 pixels would take (7.5 GB), far above the parsers' needs. */
    private static final long ALLOCATION_CEILING = 1024 * 1024;

    @Test
    void pngClaiming50000By50000IsRejectedFromItsHeader() throws Exception {
        byte[] bomb = ImageBadInputCorpusTest.headerOnlyPng(50_000, 50_000);
        assertTrue(bomb.length < 400, "a few hundred bytes, was " + bomb.length);
        ImageInspector inspector = new ImageInspector();
        rejectWarm(inspector, bomb);

        long allocated = assertTimeout(Duration.ofMillis(500), () -> allocatedBy(() -> rejectWarm(inspector, bomb)));
        assertTrue(allocated < ALLOCATION_CEILING, "allocated " + allocated + " bytes");
    }

    @Test
    void jpegWhoseFrameHeaderClaims60000By60000IsRejectedFromItsHeader() throws Exception {
        byte[] bomb = ImageBadInputCorpusTest.jpegClaiming(60_000, 60_000);
        ImageInspector inspector = new ImageInspector();
        rejectWarm(inspector, bomb);

        long allocated = assertTimeout(Duration.ofMillis(500), () -> allocatedBy(() -> rejectWarm(inspector, bomb)));
        assertTrue(allocated < ALLOCATION_CEILING, "allocated " + allocated + " bytes");
    }

    @Test
    void endlessStreamIsCutAtTheByteLimit() {
        ImageInspector inspector = new ImageInspector(ImageLimits.builder().optMaxEncodedBytes(4096).build());
        CountingZeros endless = new CountingZeros();
        ImageRejectedException e = assertThrows(ImageRejectedException.class, () -> inspector.inspect(endless));
        assertEquals(ImageErrorCode.IMAGE_TOO_LARGE, e.code());
        assertEquals(4097, endless.read, "reads one byte past the limit, no more");
    }

    private static void rejectWarm(ImageInspector inspector, byte[] bomb) {
        ImageRejectedException e = assertThrows(ImageRejectedException.class, () -> inspector.inspect(bomb));
        assertEquals(ImageErrorCode.DIMENSIONS_TOO_LARGE, e.code(), e.getMessage());
    }

    /** An endless stream of zeros that counts what was read. */
    private static final class CountingZeros extends InputStream {
        long read;

        @Override
        public int read() {
            read++;
            return 0;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            read += len;
            return len;
        }
    }
}
