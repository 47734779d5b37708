package dev.loupe.dataset.images;

import java.awt.color.ColorSpace;
import java.awt.color.ICC_ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorConvertOp;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.DataBufferInt;
import java.awt.image.DirectColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;

/**
 * Converts lines of one decoded image to 8-bit sRGB triplets, compositing any alpha over white, without making a
 * second image: a line is a row ({@code w x 1}) or a column ({@code 1 x h}), and only buffers of one line are
 * allocated.
 *
 * <p>
 * Three common layouts are read sample by sample: palettes, grey (with or without alpha; grey samples are taken as
 * sRGB-encoded, as browsers show them), and sRGB colour. Samples of 1 to 16 bits are scaled to 8 with rounding.
 * Anything else (an ICC colour space, premultiplied alpha, floating-point samples) is converted through a
 * {@link ColorConvertOp} one line at a time, and a colour space without a profile (the JDK's CMYK) by its own
 * {@code toRGB}, pixel by pixel.
 */
final class RgbConverter {
    private enum Layout {
        INDEXED, GREY, RGB, OTHER
    }

    private final ColorModel colourModel;
    private final WritableRaster raster;
    private final Layout layout;
    private final int bands;
    private final boolean alpha;
    /** Per band, sample to 8-bit value; null for a band that already has 8 bits. */
    private final int[][] scale;
    /** For a palette, each index's colour composited over white, as 0xRRGGBB. */
    private final int[] palette;
    private ColorConvertOp convertOp;
    private int[] samples = new int[0];

    RgbConverter(BufferedImage image) {
        this.colourModel = image.getColorModel();
        this.raster = image.getRaster();
        this.bands = raster.getNumBands();
        this.alpha = colourModel.hasAlpha();
        this.layout = layoutOf(colourModel, raster);
        this.scale = new int[bands][];
        if (layout == Layout.GREY || layout == Layout.RGB) {
            for (int band = 0; band < bands; band++) {
                int size = raster.getSampleModel().getSampleSize(band);
                if (size != 8) {
                    scale[band] = scaleTable(size);
                }
            }
        }
        this.palette = layout == Layout.INDEXED ? compositedPalette((IndexColorModel) colourModel) : null;
    }

    /**
     * Writes the pixels of the line at {@code (x, y)} of {@code w x h} (one of them 1) as RGB triplets into
     * {@code rgb}, in raster order: left to right for a row, top to bottom for a column.
     */
    void convert(int x, int y, int w, int h, byte[] rgb) throws ImageRejectedException {
        int n = w * h;
        switch (layout) {
            case INDEXED -> indexed(x, y, w, h, n, rgb);
            case GREY, RGB -> components(x, y, w, h, n, rgb);
            default -> other(x, y, w, h, n, rgb);
        }
    }

    private void indexed(int x, int y, int w, int h, int n, byte[] rgb) throws ImageRejectedException {
        int[] indices = buffer(n);
        raster.getSamples(x, y, w, h, 0, indices);
        for (int i = 0, o = 0; i < n; i++, o += 3) {
            int index = indices[i];
            if (index < 0 || index >= palette.length) {
                throw new ImageRejectedException(ImageErrorCode.DECODE_FAILED,
                        "The image uses a palette index outside its palette.");
            }
            put(rgb, o, palette[index]);
        }
    }

    private void components(int x, int y, int w, int h, int n, byte[] rgb) {
        int[] s = buffer(n * bands);
        raster.getPixels(x, y, w, h, s);
        int alphaBand = bands - 1;
        boolean grey = layout == Layout.GREY;
        for (int i = 0, p = 0, o = 0; i < n; i++, p += bands, o += 3) {
            int a = alpha ? sample(alphaBand, s[p + alphaBand]) : 255;
            int r = sample(0, s[p]);
            int g = grey ? r : sample(1, s[p + 1]);
            int b = grey ? r : sample(2, s[p + 2]);
            rgb[o] = (byte) over(r, a);
            rgb[o + 1] = (byte) over(g, a);
            rgb[o + 2] = (byte) over(b, a);
        }
    }

    private void other(int x, int y, int w, int h, int n, byte[] rgb) {
        if (!(colourModel.getColorSpace() instanceof ICC_ColorSpace)) {
            // A colour space defined by code rather than a profile (the JDK's CMYK for Adobe JPEGs): its own toRGB
            // is its definition, which the model applies per pixel. ColorConvertOp would go through CIEXYZ and
            // give other colours than every ImageIO-based viewer.
            Object pixel = null;
            for (int i = 0, o = 0; i < n; i++, o += 3) {
                pixel = raster.getDataElements(w > 1 ? x + i : x, h > 1 ? y + i : y, pixel);
                put(rgb, o, composite(colourModel.getRGB(pixel)));
            }
            return;
        }
        if (convertOp == null) {
            convertOp = new ColorConvertOp(null);
        }
        WritableRaster line = raster.createWritableChild(x, y, w, h, 0, 0, null);
        BufferedImage source = new BufferedImage(colourModel, line, colourModel.isAlphaPremultiplied(), null);
        BufferedImage argb = new BufferedImage(w, h, BufferedImage.TYPE_INT_ARGB);
        convertOp.filter(source, argb);
        int[] pixels = ((DataBufferInt) argb.getRaster().getDataBuffer()).getData();
        for (int i = 0, o = 0; i < n; i++, o += 3) {
            put(rgb, o, composite(pixels[i]));
        }
    }

    private int sample(int band, int value) {
        int[] table = scale[band];
        return table == null ? value : table[value];
    }

    private int[] buffer(int length) {
        if (samples.length < length) {
            samples = new int[length];
        }
        return samples;
    }

    private static Layout layoutOf(ColorModel cm, WritableRaster raster) {
        if (cm instanceof IndexColorModel) {
            return raster.getNumBands() == 1 ? Layout.INDEXED : Layout.OTHER;
        }
        int dataType = raster.getSampleModel().getDataType();
        boolean integral = dataType == DataBuffer.TYPE_BYTE || dataType == DataBuffer.TYPE_USHORT
                || dataType == DataBuffer.TYPE_INT;
        boolean plain = (cm instanceof ComponentColorModel || cm instanceof DirectColorModel)
                && !cm.isAlphaPremultiplied() && integral && raster.getNumBands() == cm.getNumComponents();
        if (!plain) {
            return Layout.OTHER;
        }
        for (int size : raster.getSampleModel().getSampleSize()) {
            if (size < 1 || size > 16) {
                return Layout.OTHER;
            }
        }
        ColorSpace cs = cm.getColorSpace();
        if (cs.getType() == ColorSpace.TYPE_GRAY && cm.getNumColorComponents() == 1) {
            return Layout.GREY;
        }
        if (cs.isCS_sRGB() && cm.getNumColorComponents() == 3) {
            return Layout.RGB;
        }
        return Layout.OTHER;
    }

    private static int[] scaleTable(int bits) {
        int max = (1 << bits) - 1;
        int[] table = new int[max + 1];
        for (int v = 0; v <= max; v++) {
            table[v] = (v * 255 + max / 2) / max;
        }
        return table;
    }

    private static int[] compositedPalette(IndexColorModel icm) {
        int[] table = new int[icm.getMapSize()];
        for (int i = 0; i < table.length; i++) {
            table[i] = composite(icm.getRGB(i));
        }
        return table;
    }

    /** A non-premultiplied 0xAARRGGBB composited over white, as 0xRRGGBB. */
    private static int composite(int argb) {
        int a = argb >>> 24;
        return over((argb >>> 16) & 0xFF, a) << 16 | over((argb >>> 8) & 0xFF, a) << 8 | over(argb & 0xFF, a);
    }

    /** One 8-bit channel value with alpha {@code a}, over white, rounded. */
    static int over(int c, int a) {
        return a == 255 ? c : (c * a + 255 * (255 - a) + 127) / 255;
    }

    private static void put(byte[] rgb, int o, int colour) {
        rgb[o] = (byte) (colour >>> 16);
        rgb[o + 1] = (byte) (colour >>> 8);
        rgb[o + 2] = (byte) colour;
    }
}
