package dev.loupe.dataset.images;

import java.awt.color.ColorSpace;
import java.awt.color.ICC_Profile;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dev.loupe.dataset.images.Allocations.allocatedBy;
import static dev.loupe.dataset.images.TestImages.chunk;
import static dev.loupe.dataset.images.TestImages.chunkTypes;
import static dev.loupe.dataset.images.TestImages.concat;
import static dev.loupe.dataset.images.TestImages.contains;
import static dev.loupe.dataset.images.TestImages.photoLike;
import static dev.loupe.dataset.images.TestImages.png;
import static dev.loupe.dataset.images.TestImages.rgb;
import static dev.loupe.dataset.images.TestImages.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Valid images of every layout come out as 8-bit RGB PNGs of IHDR, IDAT and IEND only, with the expected pixels, no
 * metadata, and the same bytes every time.
 */
class ImageNormalisationTest {
    private final ImageInspector inspector = new ImageInspector();

    // ---- pixel layouts

    @Test
    void rgbaPngIsCompositedOnWhite() throws Exception {
        byte[] rows = {0, (byte) 255, 0, 0, (byte) 255, 0, 0, 0, 0, 0, 0, 0, (byte) 128, 0, 0, (byte) 255, 64};
        NormalisedImage out = inspector.inspect(png(4, 1, 8, 6, rows));
        assertPixels(out, 4, 1, 0xFF0000, 0xFFFFFF, 0x7F7F7F, 0xBFBFFF);
    }

    @Test
    void greyPngIsReplicatedNotGammaShifted() throws Exception {
        NormalisedImage out = inspector.inspect(png(4, 1, 8, 0, new byte[]{0, 0, 17, (byte) 128, (byte) 255}));
        assertPixels(out, 4, 1, 0x000000, 0x111111, 0x808080, 0xFFFFFF);
    }

    @Test
    void lowBitDepthGreyIsScaledToEightBits() throws Exception {
        NormalisedImage four = inspector.inspect(png(4, 1, 4, 0, new byte[]{0, 0x07, (byte) 0x8F}));
        assertPixels(four, 4, 1, 0x000000, 0x777777, 0x888888, 0xFFFFFF);
        NormalisedImage one = inspector.inspect(png(8, 1, 1, 0, new byte[]{0, (byte) 0b1011_0000}));
        assertPixels(one, 8, 1, 0xFFFFFF, 0, 0xFFFFFF, 0xFFFFFF, 0, 0, 0, 0);
    }

    @Test
    void greyWithAlphaIsCompositedOnWhite() throws Exception {
        NormalisedImage out = inspector.inspect(png(2, 1, 8, 4, new byte[]{0, 100, (byte) 255, 100, 0}));
        assertPixels(out, 2, 1, 0x646464, 0xFFFFFF);
    }

    @Test
    void palettePngWithTransparencyIsExpanded() throws Exception {
        byte[] plte = chunk("PLTE", new byte[]{(byte) 255, 0, 0, 0, (byte) 255, 0, 0, 0, (byte) 255});
        byte[] trns = chunk("tRNS", new byte[]{(byte) 255, 0});
        NormalisedImage out = inspector.inspect(png(4, 1, 2, 3, new byte[]{0, 0b0001_1000}, plte, trns));
        assertPixels(out, 4, 1, 0xFF0000, 0xFFFFFF, 0x0000FF, 0xFF0000);
    }

    @Test
    void imageIoPalettePngKeepsItsColours() throws Exception {
        BufferedImage indexed = new BufferedImage(37, 19, BufferedImage.TYPE_BYTE_INDEXED);
        indexed.createGraphics().drawImage(photoLike(37, 19), 0, 0, null);
        byte[] input = write(indexed, "png");
        assertEquals(3, input[25], "ImageIO wrote a palette PNG");
        NormalisedImage out = inspector.inspect(input);
        assertArrayEquals(indexed.getRGB(0, 0, 37, 19, null, 0, 37), withAlpha(rgb(out.toByteArray())));
    }

    @Test
    void sixteenBitRgbaIsRoundedToEightBitsAndComposited() throws Exception {
        byte[] rows = {0, (byte) 0xFF, (byte) 0xFF, 0, 0, (byte) 0x80, (byte) 0x80, (byte) 0xFF, (byte) 0xFF, 0, 0, 0,
                0, 0, 0, (byte) 0x80, (byte) 0x80};
        NormalisedImage out = inspector.inspect(png(2, 1, 16, 6, rows));
        assertPixels(out, 2, 1, 0xFF0080, 0x7F7F7F);
    }

    @Test
    void sixteenBitRgbAndGreyAreRoundedToEightBits() throws Exception {
        NormalisedImage rgb = inspector.inspect(png(1, 1, 16, 2, new byte[]{0, 0x12, 0x34, (byte) 0x80, (byte) 0x80,
                (byte) 0xFF, (byte) 0xFF}));
        assertPixels(rgb, 1, 1, 18 << 16 | 128 << 8 | 255);
        NormalisedImage grey = inspector.inspect(png(3, 1, 16, 0, new byte[]{0, 0x12, 0x34, (byte) 0x80, (byte) 0x80,
                (byte) 0xFF, (byte) 0xFF}));
        assertPixels(grey, 3, 1, 0x121212, 0x808080, 0xFFFFFF);
    }

    @Test
    void rgbPngRoundTripsExactly() throws Exception {
        BufferedImage source = photoLike(257, 123);
        NormalisedImage out = inspector.inspect(write(source, "png"));
        assertEquals(257, out.width());
        assertEquals(123, out.height());
        assertEquals(ImageFormat.PNG, out.sourceFormat());
        assertArrayEquals(source.getRGB(0, 0, 257, 123, null, 0, 257), withAlpha(rgb(out.toByteArray())));
    }

    @Test
    void jpegKeepsTheDecodersPixels() throws Exception {
        for (boolean progressive : new boolean[]{false, true}) {
            byte[] jpeg = TestImages.jpeg(photoLike(200, 150), 0.85f, progressive);
            NormalisedImage out = inspector.inspect(jpeg);
            assertEquals(ImageFormat.JPEG, out.sourceFormat());
            assertArrayEquals(rgb(jpeg), rgb(out.toByteArray()), progressive ? "progressive" : "baseline");
        }
    }

    @Test
    void greyJpegIsReplicated() throws Exception {
        BufferedImage grey = new BufferedImage(64, 32, BufferedImage.TYPE_BYTE_GRAY);
        grey.createGraphics().drawImage(photoLike(64, 32), 0, 0, null);
        byte[] jpeg = TestImages.jpeg(grey, 0.9f, false);
        BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(jpeg));
        assertEquals(1, decoded.getRaster().getNumBands());
        int[] out = rgb(inspector.inspect(jpeg).toByteArray());
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 64; x++) {
                int v = decoded.getRaster().getSample(x, y, 0);
                assertEquals(v << 16 | v << 8 | v, out[y * 64 + x], "pixel " + x + "," + y);
            }
        }
    }

    @Test
    void jpegWithAnIccProfileIsConvertedToSrgb() throws Exception {
        // Linear RGB samples of 128 are about 188 in sRGB: a reader that ignored the profile would keep 128.
        BufferedImage flat = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                flat.setRGB(x, y, 0x808080);
            }
        }
        byte[] plain = TestImages.jpeg(flat, 1.0f, false);
        byte[] profile = ICC_Profile.getInstance(ColorSpace.CS_LINEAR_RGB).getData();
        byte[] app2 = TestImages.segment(0xE2,
                concat("ICC_PROFILE\0".getBytes(StandardCharsets.US_ASCII), new byte[]{1, 1}, profile));
        int plainGrey = rgb(inspector.inspect(plain).toByteArray())[0] & 0xFF;
        int convertedGrey = rgb(inspector.inspect(afterJfif(plain, app2)).toByteArray())[0] & 0xFF;
        assertTrue(Math.abs(plainGrey - 128) <= 2, "plain " + plainGrey);
        assertTrue(convertedGrey > 175 && convertedGrey < 200, "converted " + convertedGrey);
    }

    // ---- metadata

    @Test
    void jpegExifGpsAndCommentDoNotSurvive() throws Exception {
        byte[] plain = TestImages.jpeg(photoLike(120, 80), 0.9f, false);
        byte[] tagged = afterJfif(plain, TestImages.exifSegment(1, "GPS 51.5007N 0.1246W patient Jane Roe", false),
                TestImages.segment(0xFE, "Comment: patient Jane Roe, MRN 4455667".getBytes(StandardCharsets.US_ASCII)));
        assertTrue(contains(tagged, "Jane Roe") && contains(tagged, "51.5007N") && contains(tagged, "MRN 4455667"));

        NormalisedImage out = inspector.inspect(tagged);
        byte[] png = out.toByteArray();
        for (String secret : List.of("Jane Roe", "51.5007", "MRN", "Exif", "GPS")) {
            assertFalse(contains(png, secret), secret + " survived");
        }
        assertEquals(List.of("IHDR", "IDAT", "IEND"), chunkTypes(png).stream().distinct().toList());
        assertArrayEquals(inspector.inspect(plain).toByteArray(), png, "metadata changed the output");
    }

    @Test
    void pngTextExifTimeAndIccChunksDoNotSurvive() throws Exception {
        byte[] rows = TestImages.rawRows(8, 24, (i, y) -> i * 9 + y * 13);
        byte[] plain = png(8, 8, 8, 2, rows);
        byte[] iccp = chunk("iCCP", concat("Jane Roe profile\0\0".getBytes(StandardCharsets.US_ASCII),
                TestImages.zlib(ICC_Profile.getInstance(ColorSpace.CS_sRGB).getData())));
        byte[] ztxt = chunk("zTXt", concat("Author\0\0".getBytes(StandardCharsets.US_ASCII),
                TestImages.zlib("Dr Jane Roe".getBytes(StandardCharsets.US_ASCII))));
        byte[] tagged = png(8, 8, 8, 2, rows, TestImages.text("Comment", "patient Jane Roe"),
                TestImages.itext("Location", "GPS 51.5007N 0.1246W"),
                chunk("eXIf", TestImages.exifTiff(1, "Jane Roe", true)), ztxt, iccp,
                chunk("tIME", new byte[]{0x07, (byte) 0xE9, 3, 14, 9, 26, 53}));
        assertEquals(List.of("IHDR", "tEXt", "iTXt", "eXIf", "zTXt", "iCCP", "tIME", "IDAT", "IEND"),
                chunkTypes(tagged));

        byte[] png = inspector.inspect(tagged).toByteArray();
        assertEquals(List.of("IHDR", "IDAT", "IEND"), chunkTypes(png));
        assertFalse(contains(png, "Jane Roe") || contains(png, "51.5007"));
        assertArrayEquals(inspector.inspect(plain).toByteArray(), png, "metadata changed the output");
    }

    @Test
    void outputHasOnlyIhdrIdatAndIend() throws Exception {
        BufferedImage noise = new BufferedImage(600, 400, BufferedImage.TYPE_INT_RGB);
        Random random = new Random(1);
        for (int y = 0; y < 400; y++) {
            for (int x = 0; x < 600; x++) {
                noise.setRGB(x, y, random.nextInt(0x1000000));
            }
        }
        byte[] png = inspector.inspect(write(noise, "png")).toByteArray();
        List<String> types = chunkTypes(png);
        assertEquals("IHDR", types.get(0));
        assertEquals("IEND", types.get(types.size() - 1));
        assertTrue(types.subList(1, types.size() - 1).stream().allMatch("IDAT"::equals), types.toString());
        assertTrue(types.size() - 2 > 1, "noise needs several IDAT chunks, got " + (types.size() - 2));
        assertArrayEquals(TestImages.ihdr(600, 400, 8, 2), TestImages.chunkData(png, "IHDR"),
                "8-bit RGB, no interlace");
        assertEquals(0, TestImages.chunkData(png, "IEND").length);
    }

    // ---- determinism and hash

    @Test
    void sameInputGivesTheSameBytesAndHash() throws Exception {
        byte[] jpeg = TestImages.jpeg(photoLike(300, 200), 0.8f, false);
        NormalisedImage first = new ImageInspector().inspect(jpeg);
        NormalisedImage second = new ImageInspector().inspect(jpeg.clone());
        assertArrayEquals(first.toByteArray(), second.toByteArray());
        assertEquals(first.sha256Hex(), second.sha256Hex());
        byte[] expected = MessageDigest.getInstance("SHA-256").digest(first.toByteArray());
        assertArrayEquals(expected, first.sha256());
        assertEquals(HexFormat.of().formatHex(expected), first.sha256Hex());
        assertEquals(first.size(), first.toByteArray().length);
        ByteArrayOutputStream written = new ByteArrayOutputStream();
        first.writeTo(written);
        assertArrayEquals(first.toByteArray(), written.toByteArray());
        assertArrayEquals(first.toByteArray(), first.openStream().readAllBytes());
    }

    @Test
    void differentPixelsGiveDifferentHashes() throws Exception {
        BufferedImage a = photoLike(32, 32);
        BufferedImage b = photoLike(32, 32);
        b.setRGB(31, 31, 0x123456);
        assertFalse(Arrays.equals(inspector.inspect(write(a, "png")).sha256(),
                inspector.inspect(write(b, "png")).sha256()));
    }

    // ---- orientation

    /** A 3 x 2 image of six colours, A B C over D E F, as hex 0xRRGGBB. */
    private static final int A = 0x100000;
    private static final int B = 0x200000;
    private static final int C = 0x300000;
    private static final int D = 0x000010;
    private static final int E = 0x000020;
    private static final int F = 0x000030;

    @ParameterizedTest(name = "orientation {0}")
    @CsvSource({"1, 3, 2, A B C D E F", "2, 3, 2, C B A F E D", "3, 3, 2, F E D C B A", "4, 3, 2, D E F A B C",
            "5, 2, 3, A D B E C F", "6, 2, 3, D A E B F C", "7, 2, 3, F C E B D A", "8, 2, 3, C F B E A D"})
    void exifOrientationIsApplied(int orientation, int width, int height, String layout) throws Exception {
        byte[] rows = {0, 0x10, 0, 0, 0x20, 0, 0, 0x30, 0, 0, 0, 0, 0, 0x10, 0, 0, 0x20, 0, 0, 0x30};
        byte[] input = png(3, 2, 8, 2, rows,
                chunk("eXIf", TestImages.exifTiff(orientation, "x", orientation % 2 == 0)));
        NormalisedImage out = inspector.inspect(input);
        assertEquals(orientation, out.sourceOrientation());
        int[] expected = Arrays.stream(layout.split(" ")).mapToInt(ImageNormalisationTest::colour).toArray();
        assertPixels(out, width, height, expected);
    }

    @Test
    void jpegRotatedByExifComesOutUpright() throws Exception {
        // Stored 64 x 32: red and green on top, blue and white below. Orientation 6 means "turn 90 degrees clockwise
        // to view", so viewers show blue, red on top and white, green below, 32 x 64.
        byte[] jpeg = afterJfif(TestImages.jpeg(TestImages.quadrants(64, 32), 0.95f, false),
                TestImages.exifSegment(6, "rotated", true));
        NormalisedImage out = inspector.inspect(jpeg);
        assertEquals(32, out.width());
        assertEquals(64, out.height());
        int[] px = rgb(out.toByteArray());
        assertClose(0x0000FF, px[8 * 32 + 8]);
        assertClose(0xFF0000, px[8 * 32 + 24]);
        assertClose(0xFFFFFF, px[56 * 32 + 8]);
        assertClose(0x00FF00, px[56 * 32 + 24]);
    }

    @Test
    void limitsApplyToTheOrientationTheImageIsShownIn() throws Exception {
        ImageInspector wideOnly = new ImageInspector(ImageLimits.builder().optMaxWidth(100).optMaxHeight(50).build());
        byte[] rows = TestImages.rawRows(80, 120, (i, y) -> i + y);
        byte[] tall = png(40, 80, 8, 2, rows);
        ImageRejectedException e = assertThrows(ImageRejectedException.class, () -> wideOnly.inspect(tall));
        assertEquals(ImageErrorCode.DIMENSIONS_TOO_LARGE, e.code());

        byte[] tallTurned = png(40, 80, 8, 2, rows, chunk("eXIf", TestImages.exifTiff(6, "x", false)));
        NormalisedImage out = wideOnly.inspect(tallTurned);
        assertEquals(80, out.width());
        assertEquals(40, out.height());
    }

    // ---- memory

    @Test
    void holdsOneDecodedImageAtATime() throws Exception {
        // 2048 x 2048 RGBA decodes into 16 MiB. ImageIO's PNG reader also allocates about a row of garbage per row,
        // so the reference is ImageIO decoding the same file alone: inspection may add its row buffers and the
        // (small) PNG of this smooth image, but a second full image would add at least 12 MiB.
        BufferedImage argb = new BufferedImage(2048, 2048, BufferedImage.TYPE_INT_ARGB);
        argb.createGraphics().drawImage(photoLike(2048, 2048), 0, 0, null);
        byte[] input = write(argb, "png");
        inspector.inspect(input); // warm up class loading
        decodeAlone(input);
        long decodeOnly = allocatedBy(() -> decodeAlone(input));
        long inspection = allocatedBy(() -> inspector.inspect(input));
        assertTrue(decodeOnly > 2048L * 2048 * 4, "the reference decodes the whole image");
        assertTrue(inspection < decodeOnly + 4L * 1024 * 1024,
                "inspection " + inspection / 1024 + " KiB, decoding alone " + decodeOnly / 1024 + " KiB");
    }

    @Test
    void sixteenBitPngIsDecodedAtFourBytesAPixel() throws Exception {
        // 1024 x 1024 RGBA at 16 bits: 8 MiB when decoded as stored (as ImageIO alone does), 4 MiB into 8-bit samples.
        byte[] rows = TestImages.rawRows(1024, 1024 * 8, (i, y) -> (i / 8 + y) & 0xFF);
        byte[] input = png(1024, 1024, 16, 6, rows);
        inspector.inspect(input);
        decodeAlone(input);
        long decodeOnly = allocatedBy(() -> decodeAlone(input));
        long inspection = allocatedBy(() -> inspector.inspect(input));
        assertTrue(decodeOnly > 8L * 1024 * 1024, "ImageIO alone decodes into 16-bit samples");
        assertTrue(inspection < 4L * 1024 * 1024 + 2L * 1024 * 1024, "allocated " + inspection / 1024 + " KiB");
    }

    private static void decodeAlone(byte[] input) throws IOException {
        ImageReader reader = ImageIO.getImageReadersByFormatName("png").next();
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(input))) {
            reader.setInput(in, true, true);
            reader.read(0);
        } finally {
            reader.dispose();
        }
    }

    // ---- helpers

    private static int colour(String name) {
        return switch (name) {
            case "A" -> A;
            case "B" -> B;
            case "C" -> C;
            case "D" -> D;
            case "E" -> E;
            case "F" -> F;
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** The JPEG with segments inserted after its JFIF APP0 segment (or after SOI where it has none). */
    static byte[] afterJfif(byte[] jpeg, byte[]... segments) {
        int at = 2;
        if ((jpeg[2] & 0xFF) == 0xFF && (jpeg[3] & 0xFF) == 0xE0) {
            at += 2 + (((jpeg[4] & 0xFF) << 8) | (jpeg[5] & 0xFF));
        }
        return concat(Arrays.copyOf(jpeg, at), concat(segments), Arrays.copyOfRange(jpeg, at, jpeg.length));
    }

    private static void assertPixels(NormalisedImage out, int width, int height, int... expected) throws IOException {
        assertEquals(width, out.width(), "width");
        assertEquals(height, out.height(), "height");
        BufferedImage decoded = ImageIO.read(out.openStream());
        assertEquals(width, decoded.getWidth());
        assertEquals(height, decoded.getHeight());
        int[] actual = rgb(out.toByteArray());
        assertEquals(hex(expected), hex(actual));
    }

    private static void assertClose(int expected, int actual) {
        for (int shift = 0; shift <= 16; shift += 8) {
            int e = (expected >>> shift) & 0xFF;
            int a = (actual >>> shift) & 0xFF;
            assertTrue(Math.abs(e - a) <= 24, String.format("expected about %06x, got %06x", expected, actual));
        }
    }

    private static String hex(int[] pixels) {
        StringBuilder s = new StringBuilder();
        for (int p : pixels) {
            s.append(String.format("%06x ", p & 0xFFFFFF));
        }
        return s.toString().strip();
    }

    private static int[] withAlpha(int[] rgb) {
        return Arrays.stream(rgb).map(p -> 0xFF000000 | p).toArray();
    }
}
