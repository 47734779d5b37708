package dev.loupe.dataset.images;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Builds test images in memory: through ImageIO, and byte by byte where a test needs a file that no encoder would
 * write (a header that lies, a chunk cut in half, metadata of its choosing). Nothing is read from disk.
 */
final class TestImages {
    static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    private TestImages() {
    }

    // ---- ImageIO-written files

    static byte[] write(BufferedImage image, String format) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            assertTrue(ImageIO.write(image, format, out), "ImageIO has no " + format + " writer");
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] jpeg(BufferedImage image, float quality, boolean progressive) {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (MemoryCacheImageOutputStream stream = new MemoryCacheImageOutputStream(out)) {
                writer.setOutput(stream);
                ImageWriteParam param = writer.getDefaultWriteParam();
                param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
                param.setCompressionQuality(quality);
                if (progressive) {
                    param.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
                }
                writer.write(null, new IIOImage(image, null, null), param);
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            writer.dispose();
        }
    }

    /** An RGB image of smooth gradients and a few hard edges, so that compression and filters have work to do. */
    static BufferedImage photoLike(int width, int height) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int r = (x * 255) / Math.max(1, width - 1);
                int g = (y * 255) / Math.max(1, height - 1);
                int b = ((x / 8 + y / 8) % 2 == 0) ? 40 : 200;
                image.setRGB(x, y, r << 16 | g << 8 | b);
            }
        }
        return image;
    }

    /** An image of four solid quadrants: red top-left, green top-right, blue bottom-left, white bottom-right. */
    static BufferedImage quadrants(int width, int height) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                boolean left = x < width / 2;
                boolean top = y < height / 2;
                int colour = top ? (left ? 0xFF0000 : 0x00FF00) : (left ? 0x0000FF : 0xFFFFFF);
                image.setRGB(x, y, colour);
            }
        }
        return image;
    }

    // ---- PNG by hand

    /** A PNG of the given IHDR fields whose IDAT is {@code rawRows} (each row led by its filter byte) deflated. */
    static byte[] png(int width, int height, int bitDepth, int colourType, byte[] rawRows, byte[]... extraChunks) {
        List<byte[]> parts = new ArrayList<>();
        parts.add(PNG_SIGNATURE);
        parts.add(chunk("IHDR", ihdr(width, height, bitDepth, colourType)));
        parts.addAll(Arrays.asList(extraChunks));
        parts.add(chunk("IDAT", zlib(rawRows)));
        parts.add(chunk("IEND", new byte[0]));
        return concat(parts.toArray(new byte[0][]));
    }

    static byte[] ihdr(int width, int height, int bitDepth, int colourType) {
        return ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) bitDepth).put((byte) colourType)
                .put((byte) 0).put((byte) 0).put((byte) 0).array();
    }

    static byte[] chunk(String type, byte[] data) {
        byte[] typeBytes = type.getBytes(StandardCharsets.US_ASCII);
        CRC32 crc = new CRC32();
        crc.update(typeBytes);
        crc.update(data);
        return ByteBuffer.allocate(12 + data.length).putInt(data.length).put(typeBytes).put(data)
                .putInt((int) crc.getValue()).array();
    }

    static byte[] zlib(byte[] raw) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (DeflaterOutputStream deflate = new DeflaterOutputStream(out, new Deflater(9))) {
            deflate.write(raw);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Rows of {@code bytesPerRow} sample bytes, each led by filter type 0, filled by {@code sample(x, y)}. */
    static byte[] rawRows(int height, int bytesPerRow, RowFill fill) {
        byte[] raw = new byte[height * (bytesPerRow + 1)];
        for (int y = 0; y < height; y++) {
            for (int i = 0; i < bytesPerRow; i++) {
                raw[y * (bytesPerRow + 1) + 1 + i] = (byte) fill.at(i, y);
            }
        }
        return raw;
    }

    @FunctionalInterface
    interface RowFill {
        int at(int byteIndex, int y);
    }

    /** A tEXt chunk. */
    static byte[] text(String keyword, String value) {
        return chunk("tEXt", (keyword + "\0" + value).getBytes(StandardCharsets.ISO_8859_1));
    }

    /** An iTXt chunk, uncompressed. */
    static byte[] itext(String keyword, String value) {
        return chunk("iTXt", (keyword + "\0\0\0\0\0" + value).getBytes(StandardCharsets.UTF_8));
    }

    /** The chunk types of a PNG in order, after checking the signature, every length and every CRC. */
    static List<String> chunkTypes(byte[] png) {
        assertTrue(Arrays.equals(PNG_SIGNATURE, Arrays.copyOf(png, 8)), "PNG signature");
        List<String> types = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(png);
        b.position(8);
        while (b.hasRemaining()) {
            int length = b.getInt();
            byte[] type = new byte[4];
            b.get(type);
            byte[] data = new byte[length];
            b.get(data);
            int crc = b.getInt();
            CRC32 expected = new CRC32();
            expected.update(type);
            expected.update(data);
            String name = new String(type, StandardCharsets.US_ASCII);
            assertEquals((int) expected.getValue(), crc, "CRC of " + name);
            types.add(name);
        }
        return types;
    }

    /** The data of the first chunk of this type. */
    static byte[] chunkData(byte[] png, String wanted) {
        ByteBuffer b = ByteBuffer.wrap(png);
        b.position(8);
        while (b.hasRemaining()) {
            int length = b.getInt();
            byte[] type = new byte[4];
            b.get(type);
            byte[] data = new byte[length];
            b.get(data);
            b.getInt();
            if (new String(type, StandardCharsets.US_ASCII).equals(wanted)) {
                return data;
            }
        }
        throw new AssertionError("no " + wanted + " chunk");
    }

    /** Where the first chunk of this type starts (its length field). */
    static int chunkOffset(byte[] png, String wanted) {
        int pos = 8;
        while (pos < png.length) {
            int length = ByteBuffer.wrap(png, pos, 4).getInt();
            if (new String(png, pos + 4, 4, StandardCharsets.US_ASCII).equals(wanted)) {
                return pos;
            }
            pos += 12 + length;
        }
        throw new AssertionError("no " + wanted + " chunk");
    }

    // ---- JPEG by hand

    /** A marker segment: {@code FF marker}, length, payload. */
    static byte[] segment(int marker, byte[] payload) {
        return ByteBuffer.allocate(4 + payload.length).put((byte) 0xFF).put((byte) marker)
                .putShort((short) (payload.length + 2)).put(payload).array();
    }

    /** The JPEG with {@code segments} inserted right after its SOI marker. */
    static byte[] afterSoi(byte[] jpeg, byte[]... segments) {
        List<byte[]> parts = new ArrayList<>();
        parts.add(Arrays.copyOf(jpeg, 2));
        parts.addAll(Arrays.asList(segments));
        parts.add(Arrays.copyOfRange(jpeg, 2, jpeg.length));
        return concat(parts.toArray(new byte[0][]));
    }

    /** An APP1 Exif segment holding {@link #exifTiff}. */
    static byte[] exifSegment(int orientation, String description, boolean bigEndian) {
        return segment(0xE1, concat("Exif\0\0".getBytes(StandardCharsets.US_ASCII),
                exifTiff(orientation, description, bigEndian)));
    }

    /**
     * A TIFF structure as EXIF uses it: IFD0 with ImageDescription, Orientation and a GPS IFD pointer; the GPS IFD
     * holds a latitude reference and a latitude (three rationals).
     */
    static byte[] exifTiff(int orientation, String description, boolean bigEndian) {
        byte[] text = (description + "\0").getBytes(StandardCharsets.US_ASCII);
        int ifd0 = 8;
        int ifd0Size = 2 + 3 * 12 + 4;
        int gpsIfd = ifd0 + ifd0Size;
        int gpsIfdSize = 2 + 2 * 12 + 4;
        int latitude = gpsIfd + gpsIfdSize;
        int textOffset = latitude + 24;
        ByteBuffer b = ByteBuffer.allocate(textOffset + text.length)
                .order(bigEndian ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        b.put(bigEndian ? (byte) 'M' : (byte) 'I').put(bigEndian ? (byte) 'M' : (byte) 'I').putShort((short) 42)
                .putInt(ifd0);
        b.putShort((short) 3);
        b.putShort((short) 0x010E).putShort((short) 2).putInt(text.length).putInt(textOffset);
        b.putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort((short) orientation).putShort((short) 0);
        b.putShort((short) 0x8825).putShort((short) 4).putInt(1).putInt(gpsIfd);
        b.putInt(0);
        b.putShort((short) 2);
        b.putShort((short) 0x0001).putShort((short) 2).putInt(2).put((byte) 'N').put((byte) 0).putShort((short) 0);
        b.putShort((short) 0x0002).putShort((short) 5).putInt(3).putInt(latitude);
        b.putInt(0);
        b.putInt(51).putInt(1).putInt(30).putInt(1).putInt(2634).putInt(100);
        b.put(text);
        return b.array();
    }

    /** The offset of the first SOFn marker's {@code FF}. */
    static int sofOffset(byte[] jpeg) {
        int pos = 2;
        while (true) {
            int marker = jpeg[pos + 1] & 0xFF;
            if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
                return pos;
            }
            pos += 2 + (((jpeg[pos + 2] & 0xFF) << 8) | (jpeg[pos + 3] & 0xFF));
        }
    }

    /** The offset just after the first SOS segment's header: where entropy-coded data begins. */
    static int scanDataOffset(byte[] jpeg) {
        int pos = 2;
        while (true) {
            int marker = jpeg[pos + 1] & 0xFF;
            int length = ((jpeg[pos + 2] & 0xFF) << 8) | (jpeg[pos + 3] & 0xFF);
            pos += 2 + length;
            if (marker == 0xDA) {
                return pos;
            }
        }
    }

    // ---- WEBP by hand

    /** A RIFF WEBP file around the given chunks. */
    static byte[] riff(byte[]... chunks) {
        byte[] body = concat(chunks);
        return concat("RIFF".getBytes(StandardCharsets.US_ASCII),
                ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(4 + body.length).array(),
                "WEBP".getBytes(StandardCharsets.US_ASCII), body);
    }

    /** A RIFF chunk, padded to an even size. */
    static byte[] riffChunk(String fourCc, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + data.length + (data.length & 1)).order(ByteOrder.LITTLE_ENDIAN);
        b.put(fourCc.getBytes(StandardCharsets.US_ASCII)).putInt(data.length).put(data);
        return b.array();
    }

    /** A VP8X chunk with the given flags and canvas size. */
    static byte[] vp8x(int flags, int width, int height) {
        byte[] data = new byte[10];
        data[0] = (byte) flags;
        putU24le(data, 4, width - 1);
        putU24le(data, 7, height - 1);
        return riffChunk("VP8X", data);
    }

    /** The first ten bytes of a VP8 key frame: frame tag, start code, size. Enough for a header, not for a decoder. */
    static byte[] vp8Header(int width, int height) {
        return riffChunk("VP8 ", new byte[]{0x30, 0x01, 0x00, (byte) 0x9D, 0x01, 0x2A, (byte) width,
                (byte) (width >>> 8), (byte) height, (byte) (height >>> 8)});
    }

    /**
     * A complete lossless WEBP (VP8L) of the image, encoded by the smallest encoder the format allows: no transforms,
     * no colour cache, and each of the five prefix codes a "simple" code of one or two symbols. So each of red, green
     * and blue may take at most two values over the whole image (up to eight colours) and alpha one.
     */
    static byte[] vp8lImage(BufferedImage image) {
        return riff(vp8lChunk(image));
    }

    /** The VP8L chunk of {@link #vp8lImage}. */
    static byte[] vp8lChunk(BufferedImage image) {
        int width = image.getWidth();
        int height = image.getHeight();
        int[][] values = new int[4][];
        int[] argb = image.getRGB(0, 0, width, height, null, 0, width);
        int[] shifts = {8, 16, 0, 24}; // green, red, blue, alpha: the order of VP8L's prefix codes
        for (int c = 0; c < 4; c++) {
            int shift = shifts[c];
            int[] distinct = Arrays.stream(argb).map(p -> (p >>> shift) & 0xFF).distinct().sorted().toArray();
            if (distinct.length > (c == 3 ? 1 : 2)) {
                throw new IllegalArgumentException("too many values in channel " + c);
            }
            values[c] = distinct;
        }
        BitWriter bits = new BitWriter();
        bits.write(0x2F, 8);
        bits.write(width - 1, 14);
        bits.write(height - 1, 14);
        bits.write(0, 1); // alpha is not used
        bits.write(0, 3); // version
        bits.write(0, 1); // no transform
        bits.write(0, 1); // no colour cache
        bits.write(0, 1); // no meta prefix codes
        for (int c = 0; c < 4; c++) {
            simpleCode(bits, values[c]);
        }
        simpleCode(bits, new int[]{0}); // distance code, unused
        for (int p : argb) {
            for (int c = 0; c < 3; c++) {
                if (values[c].length == 2) {
                    bits.write(((p >>> shifts[c]) & 0xFF) == values[c][0] ? 0 : 1, 1);
                }
            }
        }
        return riffChunk("VP8L", bits.toByteArray());
    }

    private static void simpleCode(BitWriter bits, int[] symbols) {
        bits.write(1, 1); // simple code
        bits.write(symbols.length - 1, 1);
        bits.write(1, 1); // first symbol has 8 bits
        bits.write(symbols[0], 8);
        if (symbols.length == 2) {
            bits.write(symbols[1], 8);
        }
    }

    /** Bits packed least-significant first, as VP8L reads them. */
    private static final class BitWriter {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private int current;
        private int used;

        void write(int value, int count) {
            for (int i = 0; i < count; i++) {
                current |= ((value >>> i) & 1) << used;
                if (++used == 8) {
                    out.write(current);
                    current = 0;
                    used = 0;
                }
            }
        }

        byte[] toByteArray() {
            if (used > 0) {
                out.write(current);
                current = 0;
                used = 0;
            }
            return out.toByteArray();
        }
    }

    private static void putU24le(byte[] b, int offset, int value) {
        b[offset] = (byte) value;
        b[offset + 1] = (byte) (value >>> 8);
        b[offset + 2] = (byte) (value >>> 16);
    }

    // ---- general

    static byte[] concat(byte[]... parts) {
        int length = 0;
        for (byte[] part : parts) {
            length += part.length;
        }
        byte[] all = new byte[length];
        int pos = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, all, pos, part.length);
            pos += part.length;
        }
        return all;
    }

    /** Whether {@code needle} occurs anywhere in {@code haystack}. */
    static boolean contains(byte[] haystack, byte[] needle) {
        outer : for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    static boolean contains(byte[] haystack, String needle) {
        return contains(haystack, needle.getBytes(StandardCharsets.US_ASCII));
    }

    /** The pixels of a decoded image as 0xRRGGBB (alpha dropped), row by row. */
    static int[] rgb(byte[] encoded) {
        try {
            BufferedImage image = ImageIO.read(new ByteArrayInputStream(encoded));
            int[] argb = image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
            for (int i = 0; i < argb.length; i++) {
                argb[i] &= 0xFFFFFF;
            }
            return argb;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
