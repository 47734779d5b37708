package dev.loupe.dataset.images;

import java.awt.image.BufferedImage;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.function.Supplier;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static dev.loupe.dataset.images.ImageErrorCode.DECODE_FAILED;
import static dev.loupe.dataset.images.ImageErrorCode.DIMENSIONS_TOO_LARGE;
import static dev.loupe.dataset.images.ImageErrorCode.IMAGE_TOO_LARGE;
import static dev.loupe.dataset.images.ImageErrorCode.INVALID_HEADER;
import static dev.loupe.dataset.images.ImageErrorCode.NOT_AN_IMAGE;
import static dev.loupe.dataset.images.ImageErrorCode.TRUNCATED_IMAGE;
import static dev.loupe.dataset.images.ImageErrorCode.UNSUPPORTED_FORMAT;
import static dev.loupe.dataset.images.TestImages.chunk;
import static dev.loupe.dataset.images.TestImages.chunkOffset;
import static dev.loupe.dataset.images.TestImages.concat;
import static dev.loupe.dataset.images.TestImages.ihdr;
import static dev.loupe.dataset.images.TestImages.photoLike;
import static dev.loupe.dataset.images.TestImages.riff;
import static dev.loupe.dataset.images.TestImages.riffChunk;
import static dev.loupe.dataset.images.TestImages.vp8Header;
import static dev.loupe.dataset.images.TestImages.vp8x;
import static dev.loupe.dataset.images.TestImages.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The bad-input corpus for images: each case is one file that must be rejected with exactly one error code. Files
 * are built in memory; their names (where the case mentions one) play no part, as the inspector never sees a name.
 */
class ImageBadInputCorpusTest {

    record Case(String name, Supplier<byte[]> bytes, ImageErrorCode code) {
        @Override
        public String toString() {
            return name + " -> " + code;
        }
    }

    static Stream<Case> corpus() {
        return Stream.of(
                // Not images at all, whatever their name says.
                new Case("empty file", () -> new byte[0], NOT_AN_IMAGE),
                new Case("text file named cat.png", () -> ascii("A cat sitting on a mat.\n"), NOT_AN_IMAGE),
                new Case("HTML page named scan.jpg", () -> ascii("<!DOCTYPE html><html><body>hi</body></html>"),
                        NOT_AN_IMAGE),
                new Case("zip archive named x.webp", () -> concat(new byte[]{'P', 'K', 3, 4}, new byte[60]),
                        NOT_AN_IMAGE),
                new Case("PDF", () -> ascii("%PDF-1.7\n%\u00e2\u00e3\n1 0 obj\n"), NOT_AN_IMAGE),
                new Case("RIFF WAVE audio", () -> concat(ascii("RIFF"), new byte[4], ascii("WAVEfmt "), new byte[20]),
                        NOT_AN_IMAGE),
                new Case("text starting with BM", () -> ascii("BMW 320d, 2019, grey, diesel"), NOT_AN_IMAGE),
                new Case("two bytes of a JPEG signature", () -> new byte[]{(byte) 0xFF, (byte) 0xD8}, NOT_AN_IMAGE),
                new Case("half a PNG signature", () -> Arrays.copyOf(TestImages.PNG_SIGNATURE, 4), NOT_AN_IMAGE),

                // Images in formats Loupe does not accept.
                new Case("GIF", () -> write(photoLike(16, 16), "gif"), UNSUPPORTED_FORMAT),
                new Case("BMP", () -> write(photoLike(16, 16), "bmp"), UNSUPPORTED_FORMAT),
                new Case("TIFF", () -> write(photoLike(16, 16), "tiff"), UNSUPPORTED_FORMAT),
                new Case("SVG", () -> ascii("<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
                        UNSUPPORTED_FORMAT),
                new Case("HEIC", () -> concat(new byte[]{0, 0, 0, 24}, ascii("ftypheic"), new byte[12]),
                        UNSUPPORTED_FORMAT),
                new Case("AVIF", () -> concat(new byte[]{0, 0, 0, 24}, ascii("ftypavif"), new byte[12]),
                        UNSUPPORTED_FORMAT),
                new Case("animated WEBP", () -> riff(vp8x(0x02, 16, 16), riffChunk("ANIM", new byte[6])),
                        UNSUPPORTED_FORMAT),

                // Too large before anything is parsed.
                new Case("11 MiB of zeros", () -> new byte[11 * 1024 * 1024], IMAGE_TOO_LARGE),
                new Case("PNG of 10 MiB + 1 byte",
                        () -> concat(pngRgb(4, 4), new byte[10 * 1024 * 1024 + 1 - pngRgb(4, 4).length]),
                        IMAGE_TOO_LARGE),

                // Headers that claim too much: refused before decoding.
                new Case("PNG header claiming 50,000 x 50,000", () -> headerOnlyPng(50_000, 50_000),
                        DIMENSIONS_TOO_LARGE),
                new Case("PNG 8193 pixels wide", () -> headerOnlyPng(8193, 1), DIMENSIONS_TOO_LARGE),
                new Case("PNG of 8000 x 6000 (48 megapixels)", () -> headerOnlyPng(8000, 6000),
                        DIMENSIONS_TOO_LARGE),
                new Case("JPEG whose SOF claims 60,000 x 60,000", () -> jpegClaiming(60_000, 60_000),
                        DIMENSIONS_TOO_LARGE),
                new Case("JPEG whose SOF claims 8000 x 8000", () -> jpegClaiming(8000, 8000), DIMENSIONS_TOO_LARGE),
                new Case("WEBP VP8X canvas of 20,000 x 20,000", () -> riff(vp8x(0, 20_000, 20_000),
                        vp8Header(16, 16)), DIMENSIONS_TOO_LARGE),
                new Case("WEBP VP8 frame of 16,000 x 16,000", () -> riff(vp8Header(16_000, 16_000)),
                        DIMENSIONS_TOO_LARGE),

                // Malformed headers.
                new Case("PNG whose first chunk is tEXt", () -> concat(TestImages.PNG_SIGNATURE,
                        TestImages.text("a", "b"), chunk("IHDR", ihdr(4, 4, 8, 2)), chunk("IEND", new byte[0])),
                        INVALID_HEADER),
                new Case("PNG whose IHDR fails its CRC", () -> flip(pngRgb(4, 4), 29), INVALID_HEADER),
                new Case("PNG of width 0", () -> headerOnlyPng(0, 4), INVALID_HEADER),
                new Case("PNG of RGB at 4 bits", () -> concat(TestImages.PNG_SIGNATURE,
                        chunk("IHDR", ihdr(4, 4, 4, 2)), chunk("IEND", new byte[0])), INVALID_HEADER),
                new Case("JPEG with a scan before its frame header", () -> concat(new byte[]{(byte) 0xFF, (byte) 0xD8},
                        TestImages.segment(0xDA, new byte[10]), new byte[]{(byte) 0xFF, (byte) 0xD9}),
                        INVALID_HEADER),
                new Case("JPEG whose height comes later (DNL)", () -> jpegClaiming(64, 0), INVALID_HEADER),
                new Case("WEBP whose first chunk is EXIF", () -> riff(riffChunk("EXIF", new byte[12])),
                        INVALID_HEADER),

                // Cut short.
                new Case("PNG cut in the middle of IDAT", () -> cutInIdat(pngNoise(64, 64)), TRUNCATED_IMAGE),
                new Case("PNG without IEND", () -> withoutIend(pngRgb(16, 16)), TRUNCATED_IMAGE),
                new Case("PNG cut inside IHDR", () -> Arrays.copyOf(pngRgb(16, 16), 20), TRUNCATED_IMAGE),
                new Case("PNG whose IDAT holds fewer rows than the header says", () -> TestImages.png(8, 8, 8, 2,
                        TestImages.rawRows(4, 24, (i, y) -> i * 7 + y)), TRUNCATED_IMAGE),
                new Case("JPEG cut at 60 per cent", () -> cut(jpeg(), 0.6), TRUNCATED_IMAGE),
                new Case("JPEG without its EOI marker", () -> Arrays.copyOf(jpeg(), jpeg().length - 2),
                        TRUNCATED_IMAGE),
                new Case("JPEG cut inside its headers", () -> Arrays.copyOf(jpeg(), 100), TRUNCATED_IMAGE),
                new Case("WEBP shorter than its RIFF size", () -> Arrays.copyOf(riff(vp8x(0, 16, 16),
                        vp8Header(16, 16), riffChunk("EXIF", new byte[40])), 60), TRUNCATED_IMAGE),

                // Complete but corrupt.
                new Case("PNG whose IDAT fails its CRC", () -> flip(pngRgb(16, 16), chunkOffset(pngRgb(16, 16),
                        "IDAT") + 10), DECODE_FAILED),
                new Case("PNG whose IDAT is not zlib data", () -> TestImages.concat(TestImages.PNG_SIGNATURE,
                        chunk("IHDR", ihdr(8, 8, 8, 2)), chunk("IDAT", ascii("this is not deflate data at all")),
                        chunk("IEND", new byte[0])), DECODE_FAILED),
                new Case("PNG with two IHDR chunks", () -> concat(TestImages.PNG_SIGNATURE,
                        chunk("IHDR", ihdr(4, 4, 8, 2)), chunk("IHDR", ihdr(4, 4, 8, 2)),
                        Arrays.copyOfRange(pngRgb(4, 4), 33, pngRgb(4, 4).length)), DECODE_FAILED),
                new Case("PNG without IDAT", () -> concat(TestImages.PNG_SIGNATURE, chunk("IHDR", ihdr(4, 4, 8, 2)),
                        chunk("IEND", new byte[0])), DECODE_FAILED),
                new Case("JPEG with a stray marker in its scan", () -> jpegScanPatched(300, 0xFF, 0xD3),
                        DECODE_FAILED),
                new Case("JPEG cut in its scan and closed with a forged EOI", ImageBadInputCorpusTest::jpegForgedEoi,
                        DECODE_FAILED),
                new Case("JPEG with a bogus Huffman table", ImageBadInputCorpusTest::jpegBogusHuffmanTable,
                        DECODE_FAILED),
                new Case("WEBP VP8X canvas that differs from its frame", () -> riff(vp8x(0, 32, 32),
                        vp8Header(16, 16)), DECODE_FAILED),
                new Case("WEBP without an image chunk", () -> riff(vp8x(0, 16, 16), riffChunk("EXIF", new byte[8])),
                        DECODE_FAILED));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void rejectsWithItsCode(Case c) {
        byte[] bytes = c.bytes().get();
        ImageRejectedException e = assertThrows(ImageRejectedException.class,
                () -> new ImageInspector().inspect(bytes));
        assertEquals(c.code(), e.code(), e.getMessage());
        assertFalse(e.getMessage().isBlank());
        assertFalse(e.getMessage().contains("Exception"), "no class names in messages: " + e.getMessage());
    }

    // ---- fixtures

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    static byte[] pngRgb(int width, int height) {
        return write(photoLike(width, height), "png");
    }

    static byte[] pngNoise(int width, int height) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Random random = new Random(42);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                image.setRGB(x, y, random.nextInt(0x1000000));
            }
        }
        return write(image, "png");
    }

    /**
     * A PNG of a few hundred bytes whose IHDR (with a correct CRC) claims the given size: a decompression bomb's
     * header. Its IDAT is a tiny valid zlib stream; a decoder that trusted the header would allocate
     * {@code width * height * 3} bytes.
     */
    static byte[] headerOnlyPng(int width, int height) {
        return concat(TestImages.PNG_SIGNATURE, chunk("IHDR", ihdr(width, height, 8, 2)),
                chunk("IDAT", TestImages.zlib(new byte[256])), chunk("IEND", new byte[0]));
    }

    static byte[] jpeg() {
        return TestImages.jpeg(photoLike(64, 48), 0.9f, false);
    }

    /** A valid JPEG whose SOF0 is patched to claim another size. */
    static byte[] jpegClaiming(int width, int height) {
        byte[] jpeg = jpeg();
        int sof = TestImages.sofOffset(jpeg);
        ByteBuffer.wrap(jpeg, sof + 5, 4).putShort((short) height).putShort((short) width);
        return jpeg;
    }

    /*
     * Random bytes inside a scan are not a case: JPEG's Huffman codes decode almost any bit string, so no decoder can
     * tell such corruption from a picture. What libjpeg does detect is below.
     */

    /** A 256 x 256 JPEG with two bytes of its entropy-coded data replaced. */
    static byte[] jpegScanPatched(int offset, int first, int second) {
        byte[] jpeg = TestImages.jpeg(photoLike(256, 256), 0.9f, false);
        int at = TestImages.scanDataOffset(jpeg) + offset;
        jpeg[at] = (byte) first;
        jpeg[at + 1] = (byte) second;
        return jpeg;
    }

    /** A JPEG cut 400 bytes into its scan, then given an EOI marker so that its structure looks complete. */
    static byte[] jpegForgedEoi() {
        byte[] jpeg = TestImages.jpeg(photoLike(256, 256), 0.9f, false);
        return concat(Arrays.copyOf(jpeg, TestImages.scanDataOffset(jpeg) + 400), new byte[]{(byte) 0xFF, (byte) 0xD9});
    }

    /** A JPEG whose first DHT segment claims more codes than a Huffman table can hold. */
    static byte[] jpegBogusHuffmanTable() {
        byte[] jpeg = jpeg();
        int pos = 2;
        while ((jpeg[pos + 1] & 0xFF) != 0xC4) {
            pos += 2 + (((jpeg[pos + 2] & 0xFF) << 8) | (jpeg[pos + 3] & 0xFF));
        }
        Arrays.fill(jpeg, pos + 5, pos + 21, (byte) 0xFF); // the 16 code counts
        return jpeg;
    }

    static byte[] cutInIdat(byte[] png) {
        int idat = chunkOffset(png, "IDAT");
        int length = ByteBuffer.wrap(png, idat, 4).getInt();
        return Arrays.copyOf(png, idat + 8 + length / 2);
    }

    static byte[] withoutIend(byte[] png) {
        return Arrays.copyOf(png, chunkOffset(png, "IEND"));
    }

    static byte[] cut(byte[] bytes, double fraction) {
        return Arrays.copyOf(bytes, (int) (bytes.length * fraction));
    }

    static byte[] flip(byte[] bytes, int offset) {
        byte[] copy = bytes.clone();
        copy[offset] ^= 0x01;
        return copy;
    }
}
