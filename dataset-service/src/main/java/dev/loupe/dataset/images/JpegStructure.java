package dev.loupe.dataset.images;

import static dev.loupe.dataset.images.Bytes.ascii;
import static dev.loupe.dataset.images.Bytes.u16be;
import static dev.loupe.dataset.images.Bytes.u8;

/**
 * The JPEG container (ITU T.81 annex B): markers {@code FF xx}, most followed by a two-byte length that counts
 * itself; after a start-of-scan (SOS) segment comes entropy-coded data in which {@code FF 00} is a stuffed byte and
 * {@code FF D0..D7} are restart markers, up to the next marker.
 */
final class JpegStructure {
    private static final int SOI = 0xD8;
    private static final int EOI = 0xD9;
    private static final int SOS = 0xDA;
    private static final int APP1 = 0xE1;
    private static final int TEM = 0x01;

    /** Where a walk is, for messages, and which code a malformed segment there gets. */
    private enum Phase {
        HEADER("before its frame header (SOF)", ImageErrorCode.INVALID_HEADER), BEFORE_SCAN("before its first scan",
                ImageErrorCode.DECODE_FAILED), SCAN("inside its image data", ImageErrorCode.DECODE_FAILED);

        final String where;
        final ImageErrorCode malformed;

        Phase(String where, ImageErrorCode malformed) {
            this.where = where;
            this.malformed = malformed;
        }
    }

    private JpegStructure() {
    }

    /** Reads the first frame header (SOFn), skipping the segments before it by their lengths. */
    static ImageHeader readHeader(byte[] b) throws ImageRejectedException {
        int pos = 2;
        while (true) {
            pos = skipFill(b, pos, Phase.HEADER);
            int marker = u8(b, pos);
            pos++;
            if (isStandalone(marker)) {
                continue;
            }
            if (marker == EOI || marker == SOS || marker == SOI) {
                throw invalid("marker 0x" + Integer.toHexString(marker) + " comes before the frame header (SOF)");
            }
            int length = segmentLength(b, pos, Phase.HEADER);
            if (isStartOfFrame(marker)) {
                if (length < 8) {
                    throw invalid("the frame header is too short");
                }
                int height = u16be(b, pos + 3);
                int width = u16be(b, pos + 5);
                int components = u8(b, pos + 7);
                if (length < 8 + 3 * components) {
                    throw invalid("the frame header is shorter than its component list");
                }
                if (height == 0) {
                    throw invalid("a height defined later by a DNL marker is not supported");
                }
                if (width == 0 || components == 0) {
                    throw invalid("the frame has no width or no components");
                }
                return new ImageHeader(ImageFormat.JPEG, width, height);
            }
            pos += length;
        }
    }

    /**
     * Walks the segments and the entropy-coded data of every scan up to the end-of-image marker (EOI), and returns the
     * orientation of the first APP1 Exif segment (1 without one). Bytes after EOI are ignored.
     */
    static int checkComplete(byte[] b) throws ImageRejectedException {
        int orientation = ExifOrientation.NORMAL;
        boolean exifSeen = false;
        int pos = 2;
        // Segments before the first scan.
        while (true) {
            pos = skipFill(b, pos, Phase.BEFORE_SCAN);
            int marker = u8(b, pos);
            pos++;
            if (isStandalone(marker)) {
                continue;
            }
            if (marker == EOI || marker == SOI) {
                throw corrupt("marker 0x" + Integer.toHexString(marker) + " comes before the first scan");
            }
            int length = segmentLength(b, pos, Phase.BEFORE_SCAN);
            if (marker == APP1 && !exifSeen && length >= 8 && ascii(b, pos + 2, "Exif\0\0")) {
                orientation = ExifOrientation.fromTiff(b, pos + 8, length - 8);
                exifSeen = true;
            }
            pos += length;
            if (marker == SOS) {
                break;
            }
        }
        // Entropy-coded data, and the segments between scans of a progressive JPEG.
        while (pos < b.length) {
            if (b[pos] != (byte) 0xFF) {
                pos++;
                continue;
            }
            if (pos + 1 >= b.length) {
                break;
            }
            int marker = u8(b, pos + 1);
            if (marker == 0x00 || marker >= 0xD0 && marker <= 0xD7) {
                pos += 2;
            } else if (marker == 0xFF) {
                pos++;
            } else if (marker == EOI) {
                return orientation;
            } else if (isStandalone(marker) || marker == SOI) {
                throw corrupt("unexpected marker 0x" + Integer.toHexString(marker) + " inside the image data");
            } else {
                pos += 2 + segmentLength(b, pos + 2, Phase.SCAN);
            }
        }
        throw new ImageRejectedException(ImageErrorCode.TRUNCATED_IMAGE,
                "The JPEG ends without its end-of-image marker (EOI).");
    }

    /** Skips one or more {@code FF} bytes before a marker code; returns the marker code's position. */
    private static int skipFill(byte[] b, int pos, Phase phase) throws ImageRejectedException {
        if (pos >= b.length) {
            throw truncated(phase);
        }
        if (b[pos] != (byte) 0xFF) {
            throw malformed(phase, "expected a marker at byte " + pos);
        }
        while (pos < b.length && b[pos] == (byte) 0xFF) {
            pos++;
        }
        if (pos >= b.length) {
            throw truncated(phase);
        }
        return pos;
    }

    /** The length of the segment whose length field is at {@code pos}, checked to lie within the file. */
    private static int segmentLength(byte[] b, int pos, Phase phase) throws ImageRejectedException {
        if (pos + 2 > b.length) {
            throw truncated(phase);
        }
        int length = u16be(b, pos);
        if (length < 2) {
            throw malformed(phase, "a segment length below 2");
        }
        if (pos + length > b.length) {
            throw truncated(phase);
        }
        return length;
    }

    /** SOF0..SOF15, which are C0..CF less DHT (C4), JPG (C8) and DAC (CC). */
    private static boolean isStartOfFrame(int marker) {
        return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    }

    /** Markers without a length: TEM and the restart markers. */
    private static boolean isStandalone(int marker) {
        return marker == TEM || marker >= 0xD0 && marker <= 0xD7;
    }

    private static ImageRejectedException truncated(Phase phase) {
        return new ImageRejectedException(ImageErrorCode.TRUNCATED_IMAGE, "The JPEG ends " + phase.where + ".");
    }

    private static ImageRejectedException malformed(Phase phase, String what) {
        return phase.malformed == ImageErrorCode.INVALID_HEADER ? invalid(what) : corrupt(what);
    }

    private static ImageRejectedException invalid(String what) {
        return new ImageRejectedException(ImageErrorCode.INVALID_HEADER, "The JPEG header is invalid: " + what + ".");
    }

    private static ImageRejectedException corrupt(String what) {
        return new ImageRejectedException(ImageErrorCode.DECODE_FAILED, "The JPEG is corrupt: " + what + ".");
    }
}
