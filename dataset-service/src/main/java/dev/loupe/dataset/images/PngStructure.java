package dev.loupe.dataset.images;

import static dev.loupe.dataset.images.Bytes.ascii;
import static dev.loupe.dataset.images.Bytes.crc32;
import static dev.loupe.dataset.images.Bytes.fourCc;
import static dev.loupe.dataset.images.Bytes.u32be;
import static dev.loupe.dataset.images.Bytes.u8;

/**
 * The PNG container: signature, chunks of {@code length, type, data, CRC}, IHDR first, IEND last (PNG 3rd edition,
 * section 5).
 */
final class PngStructure {
    /** Signature (8) + IHDR length and type (8) + IHDR data (13) + CRC (4). */
    static final int HEADER_BYTES = 33;
    static final int BIT_DEPTH_OFFSET = 24;
    static final int COLOUR_TYPE_OFFSET = 25;

    private static final long MAX_CHUNK_LENGTH = 0x7FFF_FFFFL;

    private PngStructure() {
    }

    /** Reads the IHDR chunk, which must come first and pass its CRC. */
    static ImageHeader readHeader(byte[] b) throws ImageRejectedException {
        if (b.length < HEADER_BYTES) {
            throw new ImageRejectedException(ImageErrorCode.TRUNCATED_IMAGE, "The PNG ends inside its header.");
        }
        if (u32be(b, 8) != 13 || !ascii(b, 12, "IHDR")) {
            throw invalid("the first chunk must be a 13-byte IHDR");
        }
        if (crc32(b, 12, 17) != u32be(b, 29)) {
            throw invalid("the IHDR chunk fails its CRC");
        }
        long width = u32be(b, 16);
        long height = u32be(b, 20);
        if (width == 0 || height == 0 || width > MAX_CHUNK_LENGTH || height > MAX_CHUNK_LENGTH) {
            throw invalid("width and height must be in [1, 2^31 - 1], are " + width + " x " + height);
        }
        int bitDepth = u8(b, BIT_DEPTH_OFFSET);
        int colourType = u8(b, COLOUR_TYPE_OFFSET);
        if (!validDepth(colourType, bitDepth)) {
            throw invalid("bit depth " + bitDepth + " is not allowed with colour type " + colourType);
        }
        if (u8(b, 26) != 0 || u8(b, 27) != 0 || u8(b, 28) > 1) {
            throw invalid("unknown compression, filter or interlace method");
        }
        return new ImageHeader(ImageFormat.PNG, (int) width, (int) height);
    }

    /**
     * Walks every chunk up to IEND, checking each one's CRC, and returns the EXIF orientation of an eXIf chunk (1
     * without one). Bytes after IEND are ignored (normalisation drops them).
     */
    static int checkComplete(byte[] b) throws ImageRejectedException {
        int orientation = ExifOrientation.NORMAL;
        boolean exifSeen = false;
        boolean idatSeen = false;
        int pos = FormatSniffer.PNG_SIGNATURE.length;
        while (true) {
            if (b.length - pos < 8) {
                throw new ImageRejectedException(ImageErrorCode.TRUNCATED_IMAGE,
                        "The PNG ends before its IEND chunk.");
            }
            long length = u32be(b, pos);
            if (length > MAX_CHUNK_LENGTH) {
                throw corrupt("a chunk length is out of range");
            }
            for (int i = 4; i < 8; i++) {
                int c = b[pos + i];
                if (!(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z')) {
                    throw corrupt("a chunk type is not four letters");
                }
            }
            String type = fourCc(b, pos + 4);
            if (length + 12 > b.length - pos) {
                throw new ImageRejectedException(ImageErrorCode.TRUNCATED_IMAGE,
                        "The PNG ends inside its " + type + " chunk.");
            }
            int dataLength = (int) length;
            if (crc32(b, pos + 4, 4 + dataLength) != u32be(b, pos + 8 + dataLength)) {
                throw corrupt("the " + type + " chunk fails its CRC");
            }
            switch (type) {
                case "IHDR" :
                    if (pos != FormatSniffer.PNG_SIGNATURE.length) {
                        throw corrupt("a second IHDR chunk");
                    }
                    break;
                case "IDAT" :
                    idatSeen = true;
                    break;
                case "eXIf" :
                    if (!exifSeen) {
                        orientation = ExifOrientation.fromTiff(b, pos + 8, dataLength);
                        exifSeen = true;
                    }
                    break;
                case "IEND" :
                    if (!idatSeen) {
                        throw corrupt("no IDAT chunk before IEND");
                    }
                    return orientation;
                default :
                    break;
            }
            pos += 12 + dataLength;
        }
    }

    private static boolean validDepth(int colourType, int bitDepth) {
        return switch (colourType) {
            case 0 -> bitDepth == 1 || bitDepth == 2 || bitDepth == 4 || bitDepth == 8 || bitDepth == 16;
            case 3 -> bitDepth == 1 || bitDepth == 2 || bitDepth == 4 || bitDepth == 8;
            case 2, 4, 6 -> bitDepth == 8 || bitDepth == 16;
            default -> false;
        };
    }

    private static ImageRejectedException invalid(String what) {
        return new ImageRejectedException(ImageErrorCode.INVALID_HEADER, "The PNG header is invalid: " + what + ".");
    }

    private static ImageRejectedException corrupt(String what) {
        return new ImageRejectedException(ImageErrorCode.DECODE_FAILED, "The PNG is corrupt: " + what + ".");
    }
}
