package dev.loupe.dataset.images;

import java.awt.image.BufferedImage;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

import org.junit.jupiter.api.Test;

import static dev.loupe.dataset.images.TestImages.quadrants;
import static dev.loupe.dataset.images.TestImages.rgb;
import static dev.loupe.dataset.images.TestImages.riff;
import static dev.loupe.dataset.images.TestImages.riffChunk;
import static dev.loupe.dataset.images.TestImages.vp8lChunk;
import static dev.loupe.dataset.images.TestImages.vp8lImage;
import static dev.loupe.dataset.images.TestImages.vp8x;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * WEBP. Headers are read by this package and need no decoder; decoding needs an ImageIO WEBP reader on the class
 * path (TwelveMonkeys {@code imageio-webp}), and the decoding tests skip, saying so, where there is none. Exactly one
 * of {@link #decodesWhenAReaderIsPresent()} and {@link #isRefusedWhenNoReaderIsPresent()} runs.
 */
class WebpTest {
    private static final String NO_READER = "no ImageIO WEBP reader on the class path "
            + "(add com.twelvemonkeys.imageio:imageio-webp to decode WEBP)";

    /** 1 x 1 lossy (VP8), grey 0x828282: the probe image Google's WebP documentation uses to detect support. */
    private static final byte[] LOSSY_1X1 = Base64.getDecoder()
            .decode("UklGRiIAAABXRUJQVlA4IBYAAAAwAQCdASoBAAEADsD+JaQAA3AAAAAA");
    /** 1 x 1 extended (VP8X) with an alpha channel (ALPH) over a lossy frame, fully transparent; same source. */
    private static final byte[] ALPHA_1X1 = Base64.getDecoder()
            .decode("UklGRkoAAABXRUJQVlA4WAoAAAAQAAAAAAAAAAAAQUxQSAwAAAARBxAR/Q9ERP8DAABWUDggGAAAABQBAJ0BKgEAAQAAAP4AAA3AAP7mtQAAAA==");

    private final ImageInspector inspector = new ImageInspector();

    @Test
    void headersAreReadWithoutADecoder() throws Exception {
        assertEquals(new ImageHeader(ImageFormat.WEBP, 1, 1), inspector.readHeader(LOSSY_1X1));
        assertEquals(new ImageHeader(ImageFormat.WEBP, 1, 1), inspector.readHeader(ALPHA_1X1));
        assertEquals(new ImageHeader(ImageFormat.WEBP, 40, 30), inspector.readHeader(vp8lImage(quadrants(40, 30))));
        assertEquals(new ImageHeader(ImageFormat.WEBP, 300, 200),
                inspector.readHeader(riff(TestImages.vp8Header(300, 200))));
        assertEquals(new ImageHeader(ImageFormat.WEBP, 5000, 3000),
                inspector.readHeader(riff(vp8x(0, 5000, 3000), TestImages.vp8Header(5000, 3000))));
    }

    @Test
    void decodesWhenAReaderIsPresent() throws Exception {
        assumeTrue(ImageInspector.canDecode(ImageFormat.WEBP), NO_READER);
        BufferedImage source = quadrants(40, 30);
        NormalisedImage lossless = inspector.inspect(vp8lImage(source));
        assertEquals(ImageFormat.WEBP, lossless.sourceFormat());
        assertEquals(40, lossless.width());
        assertEquals(30, lossless.height());
        assertArrayEquals(source.getRGB(0, 0, 40, 30, null, 0, 40),
                Arrays.stream(rgb(lossless.toByteArray())).map(p -> 0xFF000000 | p).toArray());
        assertEquals(List.of("IHDR", "IDAT", "IEND"), TestImages.chunkTypes(lossless.toByteArray()));

        int grey = rgb(inspector.inspect(LOSSY_1X1).toByteArray())[0];
        assertTrue(Math.abs((grey & 0xFF) - 0x82) <= 2 && (grey >>> 16) == (grey & 0xFF), Integer.toHexString(grey));
        assertEquals(0xFFFFFF, rgb(inspector.inspect(ALPHA_1X1).toByteArray())[0], "transparent over white");
    }

    @Test
    void exifOrientationOfAnExtendedWebpIsApplied() throws Exception {
        assumeTrue(ImageInspector.canDecode(ImageFormat.WEBP), NO_READER);
        // Orientation 8: turn 90 degrees counter-clockwise to view, so the top-right quadrant (green) ends top-left.
        byte[] webp = riff(vp8x(0x08, 40, 30), vp8lChunk(quadrants(40, 30)),
                riffChunk("EXIF", TestImages.exifTiff(8, "webp", false)));
        NormalisedImage out = inspector.inspect(webp);
        assertEquals(8, out.sourceOrientation());
        assertEquals(30, out.width());
        assertEquals(40, out.height());
        int[] px = rgb(out.toByteArray());
        assertEquals(0x00FF00, px[0]);
        assertEquals(0xFFFFFF, px[29]);
        assertEquals(0xFF0000, px[39 * 30]);
        assertEquals(0x0000FF, px[39 * 30 + 29]);
    }

    @Test
    void isRefusedWhenNoReaderIsPresent() {
        assumeFalse(ImageInspector.canDecode(ImageFormat.WEBP), "a WEBP reader is present; decoding is tested");
        ImageRejectedException e = assertThrows(ImageRejectedException.class,
                () -> inspector.inspect(vp8lImage(quadrants(40, 30))));
        assertEquals(ImageErrorCode.UNSUPPORTED_FORMAT, e.code());
        assertTrue(e.getMessage().contains("WEBP decoder"), e.getMessage());
    }

    @Test
    void sizeChecksComeBeforeTheDecoderIsLookedFor() {
        // With or without a reader, a WEBP bomb is refused from its header.
        ImageRejectedException e = assertThrows(ImageRejectedException.class,
                () -> inspector.inspect(riff(vp8x(0, 16_000_000, 16_000_000))));
        assertEquals(ImageErrorCode.DIMENSIONS_TOO_LARGE, e.code());
    }
}
