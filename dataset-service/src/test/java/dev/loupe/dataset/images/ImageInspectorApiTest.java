package dev.loupe.dataset.images;

import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

import org.junit.jupiter.api.Test;

import static dev.loupe.dataset.images.TestImages.chunk;
import static dev.loupe.dataset.images.TestImages.concat;
import static dev.loupe.dataset.images.TestImages.photoLike;
import static dev.loupe.dataset.images.TestImages.rgb;
import static dev.loupe.dataset.images.TestImages.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The public surface: codes, limits, sniffing, header reading, and what inspection tolerates. */
class ImageInspectorApiTest {
    private final ImageInspector inspector = new ImageInspector();

    @Test
    void errorCodesAreStable() {
        // Clients key on these strings; renaming one is a breaking change this test makes visible.
        assertEquals(List.of("not_an_image", "unsupported_format", "image_too_large", "invalid_header",
                "dimensions_too_large", "truncated_image", "decode_failed"),
                Arrays.stream(ImageErrorCode.values()).map(ImageErrorCode::code).toList());
        assertEquals("truncated_image", ImageErrorCode.TRUNCATED_IMAGE.toString());
    }

    @Test
    void defaultLimits() {
        ImageLimits limits = ImageLimits.defaults();
        assertEquals(10 * 1024 * 1024, limits.maxEncodedBytes());
        assertEquals(8192, limits.maxWidth());
        assertEquals(8192, limits.maxHeight());
        assertEquals(40_000_000L, limits.maxPixels());
        assertEquals(limits, new ImageInspector().limits());
    }

    @Test
    void limitsOutOfRangeAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> ImageLimits.builder().optMaxEncodedBytes(0).build());
        assertThrows(IllegalArgumentException.class, () -> ImageLimits.builder().optMaxWidth(-1).build());
        assertThrows(IllegalArgumentException.class, () -> ImageLimits.builder().optMaxHeight(0).build());
        assertThrows(IllegalArgumentException.class,
                () -> ImageLimits.builder().optMaxPixels(ImageLimits.MAX_PIXELS_CEILING + 1).build());
        assertEquals(123, ImageLimits.builder().optMaxWidth(123).build().maxWidth());
    }

    @Test
    void sniffingUsesMagicBytesOnly() throws Exception {
        assertEquals(ImageFormat.PNG, ImageInspector.sniff(write(photoLike(4, 4), "png")));
        assertEquals(ImageFormat.JPEG, ImageInspector.sniff(write(photoLike(4, 4), "jpeg")));
        assertEquals(ImageFormat.WEBP, ImageInspector.sniff(TestImages.vp8lImage(TestImages.quadrants(4, 4))));
        assertEquals("image/webp", ImageFormat.WEBP.mediaType());
        ImageRejectedException gif = assertThrows(ImageRejectedException.class,
                () -> ImageInspector.sniff(write(photoLike(4, 4), "gif")));
        assertEquals(ImageErrorCode.UNSUPPORTED_FORMAT, gif.code());
        assertTrue(gif.getMessage().contains("GIF"), gif.getMessage());
    }

    @Test
    void readHeaderReadsOnlyTheHeader() throws Exception {
        // Complete but undecodable after its header: readHeader is content, inspect is not.
        byte[] png = concat(TestImages.PNG_SIGNATURE, chunk("IHDR", TestImages.ihdr(640, 480, 8, 6)),
                chunk("IDAT", new byte[]{1, 2, 3}), chunk("IEND", new byte[0]));
        assertEquals(new ImageHeader(ImageFormat.PNG, 640, 480), inspector.readHeader(png));
        assertEquals(640L * 480, inspector.readHeader(png).pixels());
        assertEquals(ImageErrorCode.DECODE_FAILED,
                assertThrows(ImageRejectedException.class, () -> inspector.inspect(png)).code());

        byte[] jpeg = TestImages.jpeg(photoLike(300, 200), 0.9f, true);
        assertEquals(new ImageHeader(ImageFormat.JPEG, 300, 200),
                inspector.readHeader(Arrays.copyOf(jpeg, TestImages.sofOffset(jpeg) + 20)));
    }

    @Test
    void inspectsAStream() throws Exception {
        BufferedImage source = photoLike(50, 40);
        NormalisedImage out = inspector.inspect(new ByteArrayInputStream(write(source, "png")));
        assertArrayEquals(source.getRGB(0, 0, 50, 40, null, 0, 50),
                Arrays.stream(rgb(out.toByteArray())).map(p -> 0xFF000000 | p).toArray());
    }

    @Test
    void bytesAfterTheEndOfTheImageAreDropped() throws Exception {
        // A "polyglot": an image with an archive appended. Only the pixels come out.
        byte[] zip = concat(new byte[]{'P', 'K', 3, 4},
                "hidden payload".getBytes(StandardCharsets.US_ASCII));
        byte[] png = write(photoLike(30, 20), "png");
        byte[] jpeg = TestImages.jpeg(photoLike(30, 20), 0.9f, false);
        assertArrayEquals(inspector.inspect(png).toByteArray(), inspector.inspect(concat(png, zip)).toByteArray());
        assertArrayEquals(inspector.inspect(jpeg).toByteArray(), inspector.inspect(concat(jpeg, zip)).toByteArray());
    }

    @Test
    void malformedExifIsIgnoredNotFatal() throws Exception {
        byte[] jpeg = TestImages.jpeg(photoLike(30, 20), 0.9f, false);
        byte[] garbageExif = TestImages.segment(0xE1,
                concat("Exif\0\0".getBytes(StandardCharsets.US_ASCII),
                        new byte[]{'I', 'I', 42, 0, (byte) 0xFF, (byte) 0xFF, 0, 0, 9, 9, 9}));
        NormalisedImage out = inspector.inspect(ImageNormalisationTest.afterJfif(jpeg, garbageExif));
        assertEquals(1, out.sourceOrientation());
        assertEquals(30, out.width());
        assertArrayEquals(inspector.inspect(jpeg).toByteArray(), out.toByteArray());
    }

    @Test
    void interlacedPngIsDecoded() throws Exception {
        BufferedImage source = photoLike(61, 47);
        ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
            writer.setOutput(out);
            ImageWriteParam param = writer.getDefaultWriteParam();
            param.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
            writer.write(null, new IIOImage(source, null, null), param);
        } finally {
            writer.dispose();
        }
        byte[] interlaced = bytes.toByteArray();
        assertEquals(1, interlaced[28], "Adam7");
        assertArrayEquals(inspector.inspect(write(source, "png")).toByteArray(),
                inspector.inspect(interlaced).toByteArray());
    }

    @Test
    void cmykJpegIsConvertedAsTheJdkInterpretsIt() throws Exception {
        WritableRaster cmyk = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, 32, 16, 4, null);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 32; x++) {
                cmyk.setPixel(x, y, new int[]{x * 8, y * 16, 255 - x * 8, 200});
            }
        }
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
            writer.setOutput(out);
            writer.write(null, new IIOImage(cmyk, null, null), null);
        } finally {
            writer.dispose();
        }
        byte[] jpeg = bytes.toByteArray();
        BufferedImage reference = ImageIO.read(new ByteArrayInputStream(jpeg));
        assertEquals(4, reference.getColorModel().getNumComponents(), "the JDK reads it as CMYK");
        int[] expected = reference.getRGB(0, 0, 32, 16, null, 0, 32);
        int[] actual = rgb(inspector.inspect(jpeg).toByteArray());
        for (int i = 0; i < expected.length; i++) {
            for (int shift = 0; shift <= 16; shift += 8) {
                int e = (expected[i] >>> shift) & 0xFF;
                int a = (actual[i] >>> shift) & 0xFF;
                assertTrue(Math.abs(e - a) <= 3, String.format("pixel %d: %06x, JDK %06x", i, actual[i],
                        expected[i] & 0xFFFFFF));
            }
        }
    }

    @Test
    void rejectionsCarryNoStackTrace() {
        ImageRejectedException e = assertThrows(ImageRejectedException.class, () -> inspector.inspect(new byte[]{1}));
        assertEquals(0, e.getStackTrace().length);
        assertEquals(ImageErrorCode.NOT_AN_IMAGE, e.code());
    }
}
