package dev.loupe.dataset.images;

import static dev.loupe.dataset.images.Bytes.u16be;
import static dev.loupe.dataset.images.Bytes.u16le;
import static dev.loupe.dataset.images.Bytes.u32be;
import static dev.loupe.dataset.images.Bytes.u32le;

/**
 * Reads the EXIF orientation tag (0x0112) from a TIFF structure, the payload of a JPEG APP1 "Exif" segment, a PNG
 * eXIf chunk or a WEBP EXIF chunk. The metadata itself is discarded by normalisation; only the orientation is kept,
 * by applying it to the pixels, because viewers show the image rotated and annotations are drawn on what viewers show.
 *
 * <p>
 * Orientation values (TIFF 6.0 / EXIF 2.3): 1 as stored, 2 mirrored left-right, 3 rotated 180 degrees, 4 mirrored
 * top-bottom, 5 transposed, 6 rotated 90 degrees clockwise, 7 transversed, 8 rotated 90 degrees counter-clockwise.
 * Anything malformed or out of range reads as 1: metadata is never a reason to reject an image.
 */
final class ExifOrientation {
    static final int NORMAL = 1;
    private static final int ORIENTATION_TAG = 0x0112;
    private static final int TYPE_SHORT = 3;

    private ExifOrientation() {
    }

    /** Whether the orientation swaps width and height (5 to 8). */
    static boolean swapsAxes(int orientation) {
        return orientation >= 5;
    }

    /**
     * The orientation in a TIFF structure of {@code length} bytes at {@code offset}. An optional {@code Exif\0\0}
     * prefix (some WEBP writers add it) is skipped.
     */
    static int fromTiff(byte[] b, int offset, int length) {
        int start = offset;
        int end = offset + length;
        if (Bytes.ascii(b, start, "Exif\0\0")) {
            start += 6;
        }
        if (start + 8 > end) {
            return NORMAL;
        }
        boolean little;
        if (b[start] == 'I' && b[start + 1] == 'I') {
            little = true;
        } else if (b[start] == 'M' && b[start + 1] == 'M') {
            little = false;
        } else {
            return NORMAL;
        }
        if (u16(b, start + 2, little) != 42) {
            return NORMAL;
        }
        long ifd = u32(b, start + 4, little);
        if (ifd < 8 || ifd > end - start - 2) {
            return NORMAL;
        }
        int entries = start + (int) ifd;
        int count = u16(b, entries, little);
        for (int i = 0; i < count; i++) {
            int entry = entries + 2 + 12 * i;
            if (entry + 12 > end) {
                return NORMAL;
            }
            if (u16(b, entry, little) == ORIENTATION_TAG) {
                if (u16(b, entry + 2, little) != TYPE_SHORT || u32(b, entry + 4, little) != 1) {
                    return NORMAL;
                }
                int value = u16(b, entry + 8, little);
                return value >= 1 && value <= 8 ? value : NORMAL;
            }
        }
        return NORMAL;
    }

    private static int u16(byte[] b, int i, boolean little) {
        return little ? u16le(b, i) : u16be(b, i);
    }

    private static long u32(byte[] b, int i, boolean little) {
        return little ? u32le(b, i) : u32be(b, i);
    }
}
