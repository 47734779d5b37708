package dev.loupe.dataset.images;

import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.WritableRaster;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Layouts a decoder may hand over that the PNG and JPEG fixtures do not reach: packed 16-bit colour, premultiplied
 * alpha, a colour space other than sRGB. Each goes through the line conversion directly.
 */
class RgbConverterTest {

    @Test
    void packed565IsScaledToEightBits() throws Exception {
        BufferedImage image = new BufferedImage(2, 1, BufferedImage.TYPE_USHORT_565_RGB);
        image.getRaster().setPixel(0, 0, new int[]{31, 63, 31});
        image.getRaster().setPixel(1, 0, new int[]{16, 32, 0});
        // 16 of 31 is 131.6 of 255, 32 of 63 is 129.5.
        assertEquals(hex(0xFFFFFF, 0x848200), hex(row(image)));
    }

    @Test
    void premultipliedAlphaIsUnpremultipliedAndComposited() throws Exception {
        BufferedImage image = new BufferedImage(1, 1, BufferedImage.TYPE_INT_ARGB_PRE);
        image.setRGB(0, 0, 0x80FF0000); // half-transparent red
        int[] pixel = row(image);
        assertClose(0xFF7F7F, pixel[0], 2);
    }

    @Test
    void linearRgbIsConvertedToSrgb() throws Exception {
        ColorSpace linear = ColorSpace.getInstance(ColorSpace.CS_LINEAR_RGB);
        ComponentColorModel model = new ComponentColorModel(linear, false, false, Transparency.OPAQUE,
                DataBuffer.TYPE_BYTE);
        WritableRaster raster = model.createCompatibleWritableRaster(2, 1);
        raster.setPixel(0, 0, new int[]{128, 128, 128});
        raster.setPixel(1, 0, new int[]{255, 0, 0});
        BufferedImage image = new BufferedImage(model, raster, false, null);
        int[] pixels = row(image);
        int grey = pixels[0] & 0xFF;
        assertTrue(grey > 180 && grey < 195, "linear 0.5 is about 188 in sRGB, was " + grey);
        assertClose(0xFF0000, pixels[1], 3);
    }

    @Test
    void columnsAreReadTopToBottom() throws Exception {
        BufferedImage image = new BufferedImage(2, 3, BufferedImage.TYPE_INT_RGB);
        image.setRGB(1, 0, 0x010101);
        image.setRGB(1, 1, 0x020202);
        image.setRGB(1, 2, 0x030303);
        byte[] rgb = new byte[9];
        new RgbConverter(image).convert(1, 0, 1, 3, rgb);
        assertEquals(hex(0x010101, 0x020202, 0x030303), hex(unpack(rgb)));
    }

    @Test
    void compositingRoundsToTheNearestValue() {
        assertEquals(255, RgbConverter.over(0, 0));
        assertEquals(0, RgbConverter.over(0, 255));
        assertEquals(127, RgbConverter.over(0, 128));
        assertEquals(191, RgbConverter.over(0, 64));
        assertEquals(200, RgbConverter.over(200, 255));
    }

    private static int[] row(BufferedImage image) throws ImageRejectedException {
        byte[] rgb = new byte[image.getWidth() * 3];
        new RgbConverter(image).convert(0, 0, image.getWidth(), 1, rgb);
        return unpack(rgb);
    }

    private static int[] unpack(byte[] rgb) {
        int[] pixels = new int[rgb.length / 3];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (rgb[3 * i] & 0xFF) << 16 | (rgb[3 * i + 1] & 0xFF) << 8 | (rgb[3 * i + 2] & 0xFF);
        }
        return pixels;
    }

    private static void assertClose(int expected, int actual, int tolerance) {
        for (int shift = 0; shift <= 16; shift += 8) {
            int e = (expected >>> shift) & 0xFF;
            int a = (actual >>> shift) & 0xFF;
            assertTrue(Math.abs(e - a) <= tolerance, String.format("expected about %06x, got %06x", expected, actual));
        }
    }

    private static String hex(int... pixels) {
        StringBuilder s = new StringBuilder();
        for (int p : pixels) {
            s.append(String.format("%06x ", p));
        }
        return s.toString().strip();
    }
}
