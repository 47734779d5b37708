package dev.loupe.dataset.images;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Writes an 8-bit RGB, non-interlaced PNG of exactly three chunk types: IHDR, IDAT (one or more), IEND. Rows are
 * pulled one at a time, filtered with the usual minimum-sum-of-absolute-differences heuristic and deflated as they
 * come, so the writer holds two rows and the compressed output, never the pixels.
 *
 * <p>
 * The output is a function of the pixels alone: no time, no text, no colour chunks, a fixed compression level and
 * fixed chunk sizes. (It does depend on the zlib build the JDK uses; see {@link NormalisedImage#sha256()}.)
 */
final class PngWriter {
    /**
     * zlib level 4: on photographs re-encoded at 1 to 4 megapixels, level 6 (zlib's default) made files 2 to 6 per
     * cent smaller but took 2.5 to 3 times as long, deflate being nearly all of the encoding time.
     */
    static final int COMPRESSION_LEVEL = 4;
    /** Bytes of compressed data per IDAT chunk. */
    static final int IDAT_SIZE = 64 * 1024;
    private static final int BYTES_PER_PIXEL = 3;
    private static final int MAX_ARRAY = Integer.MAX_VALUE - 64;

    /** Supplies the rows of the image, top to bottom, as RGB triplets. */
    @FunctionalInterface
    interface Rows {
        void row(int y, byte[] rgb) throws ImageRejectedException;
    }

    private PngWriter() {
    }

    /** Encodes the image; the result is not yet copied into one array (see {@link Output#toByteArray()}). */
    static Output write(int width, int height, Rows rows) throws ImageRejectedException {
        Output out = new Output();
        out.write(FormatSniffer.PNG_SIGNATURE, 0, FormatSniffer.PNG_SIGNATURE.length);
        byte[] ihdr = new byte[13];
        putInt(ihdr, 0, width);
        putInt(ihdr, 4, height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // colour type: RGB
        // compression, filter and interlace methods: all 0
        chunk(out, "IHDR", ihdr, 0, ihdr.length);

        int stride = width * BYTES_PER_PIXEL;
        byte[] current = new byte[stride];
        byte[] previous = new byte[stride];
        byte[][] filtered = new byte[5][stride + 1];
        byte[] idat = new byte[IDAT_SIZE];
        int idatUsed = 0;
        Deflater deflater = new Deflater(COMPRESSION_LEVEL);
        try {
            for (int y = 0; y <= height; y++) {
                if (y < height) {
                    rows.row(y, current);
                    deflater.setInput(filter(current, previous, filtered));
                    byte[] swap = previous;
                    previous = current;
                    current = swap;
                } else {
                    deflater.finish();
                }
                while (y < height ? !deflater.needsInput() : !deflater.finished()) {
                    idatUsed += deflater.deflate(idat, idatUsed, IDAT_SIZE - idatUsed);
                    if (idatUsed == IDAT_SIZE) {
                        chunk(out, "IDAT", idat, 0, idatUsed);
                        idatUsed = 0;
                    }
                }
            }
            if (idatUsed > 0) {
                chunk(out, "IDAT", idat, 0, idatUsed);
            }
        } finally {
            deflater.end();
        }
        chunk(out, "IEND", idat, 0, 0);
        return out;
    }

    /**
     * Filters one row five ways and returns the one with the least sum of absolute (signed) byte values, the
     * heuristic of the PNG specification (section 12.8) that libpng uses. The loop has no per-byte branch on position:
     * the first pixel, whose left neighbours are zero, is done apart.
     */
    private static byte[] filter(byte[] row, byte[] prior, byte[][] out) {
        byte[] sub = out[1];
        byte[] up = out[2];
        byte[] average = out[3];
        byte[] paeth = out[4];
        long none = 0;
        long subSum = 0;
        long upSum = 0;
        long averageSum = 0;
        long paethSum = 0;
        int first = Math.min(BYTES_PER_PIXEL, row.length);
        for (int i = 0; i < first; i++) {
            int x = row[i] & 0xFF;
            int b = prior[i] & 0xFF;
            byte v2 = (byte) (x - b);
            byte v3 = (byte) (x - (b >>> 1));
            none += Math.abs(row[i]);
            sub[i + 1] = row[i];
            subSum += Math.abs(row[i]);
            up[i + 1] = v2;
            upSum += Math.abs(v2);
            average[i + 1] = v3;
            averageSum += Math.abs(v3);
            paeth[i + 1] = v2; // the Paeth predictor of (0, b, 0) is b
            paethSum += Math.abs(v2);
        }
        for (int i = first; i < row.length; i++) {
            int x = row[i] & 0xFF;
            int a = row[i - BYTES_PER_PIXEL] & 0xFF;
            int b = prior[i] & 0xFF;
            int c = prior[i - BYTES_PER_PIXEL] & 0xFF;
            int pa = Math.abs(b - c);
            int pb = Math.abs(a - c);
            int pc = Math.abs(a + b - c - c);
            int predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
            byte v1 = (byte) (x - a);
            byte v2 = (byte) (x - b);
            byte v3 = (byte) (x - ((a + b) >>> 1));
            byte v4 = (byte) (x - predictor);
            none += Math.abs(row[i]);
            sub[i + 1] = v1;
            subSum += Math.abs(v1);
            up[i + 1] = v2;
            upSum += Math.abs(v2);
            average[i + 1] = v3;
            averageSum += Math.abs(v3);
            paeth[i + 1] = v4;
            paethSum += Math.abs(v4);
        }
        long[] sums = {none, subSum, upSum, averageSum, paethSum};
        int best = 0;
        for (int type = 1; type < sums.length; type++) {
            if (sums[type] < sums[best]) {
                best = type;
            }
        }
        if (best == 0) {
            System.arraycopy(row, 0, out[0], 1, row.length);
        }
        out[best][0] = (byte) best;
        return out[best];
    }

    private static void chunk(Output out, String type, byte[] data, int offset, int length)
            throws ImageRejectedException {
        byte[] header = new byte[8];
        putInt(header, 0, length);
        byte[] typeBytes = type.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(typeBytes, 0, header, 4, 4);
        CRC32 crc = new CRC32();
        crc.update(typeBytes);
        crc.update(data, offset, length);
        byte[] trailer = new byte[4];
        putInt(trailer, 0, (int) crc.getValue());
        out.write(header, 0, header.length);
        out.write(data, offset, length);
        out.write(trailer, 0, trailer.length);
    }

    private static void putInt(byte[] b, int offset, int value) {
        b[offset] = (byte) (value >>> 24);
        b[offset + 1] = (byte) (value >>> 16);
        b[offset + 2] = (byte) (value >>> 8);
        b[offset + 3] = (byte) value;
    }

    /**
     * The encoded bytes in blocks that grow from 64 KiB to 4 MiB, so that growing never copies; one copy is made at
     * the end, when the decoded pixels are no longer needed.
     */
    static final class Output {
        private static final int FIRST_BLOCK = 64 * 1024;
        private static final int LARGEST_BLOCK = 4 * 1024 * 1024;

        private final List<byte[]> blocks = new ArrayList<>();
        private byte[] block = new byte[FIRST_BLOCK];
        private int used;
        private long size;

        void write(byte[] data, int offset, int length) throws ImageRejectedException {
            if (size + length > MAX_ARRAY) {
                throw new ImageRejectedException(ImageErrorCode.DIMENSIONS_TOO_LARGE,
                        "The normalised PNG would be larger than 2 GiB.");
            }
            size += length;
            while (length > 0) {
                if (used == block.length) {
                    blocks.add(block);
                    block = new byte[Math.min(block.length * 2, LARGEST_BLOCK)];
                    used = 0;
                }
                int n = Math.min(length, block.length - used);
                System.arraycopy(data, offset, block, used, n);
                used += n;
                offset += n;
                length -= n;
            }
        }

        byte[] toByteArray() {
            byte[] all = new byte[(int) size];
            int pos = 0;
            for (byte[] full : blocks) {
                System.arraycopy(full, 0, all, pos, full.length);
                pos += full.length;
            }
            System.arraycopy(block, 0, all, pos, used);
            return all;
        }
    }
}
