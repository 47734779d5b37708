package dev.loupe.dataset.images;

import static dev.loupe.dataset.images.Bytes.ascii;
import static dev.loupe.dataset.images.Bytes.fourCc;
import static dev.loupe.dataset.images.Bytes.u16le;
import static dev.loupe.dataset.images.Bytes.u24le;
import static dev.loupe.dataset.images.Bytes.u32le;
import static dev.loupe.dataset.images.Bytes.u8;

/**
 * The WEBP container (RFC 9649): {@code RIFF <size> WEBP} and chunks of {@code fourcc, size, data, pad-to-even}.
 * The first chunk is {@code VP8 } (lossy), {@code VP8L} (lossless) or {@code VP8X} (extended: a canvas size and
 * flags, the image chunk later).
 */
final class WebpStructure {
    /** RIFF header (12) + the first chunk's header (8). */
    private static final int FIRST_CHUNK_DATA = 20;
    private static final int VP8X_ANIMATION_FLAG = 0x02;
    private static final int VP8L_SIGNATURE = 0x2F;

    private WebpStructure() {
    }

    /** Reads the size from the first chunk: the bitstream header of VP8 or VP8L, or the canvas of VP8X. */
    static ImageHeader readHeader(byte[] b) throws ImageRejectedException {
        if (b.length < FIRST_CHUNK_DATA) {
            throw truncated("inside its header");
        }
        if (ascii(b, 12, "VP8X")) {
            if (b.length < FIRST_CHUNK_DATA + 10) {
                throw truncated("inside its header");
            }
            if ((u8(b, FIRST_CHUNK_DATA) & VP8X_ANIMATION_FLAG) != 0) {
                throw animated();
            }
            return new ImageHeader(ImageFormat.WEBP, u24le(b, FIRST_CHUNK_DATA + 4) + 1,
                    u24le(b, FIRST_CHUNK_DATA + 7) + 1);
        }
        if (ascii(b, 12, "VP8 ") || ascii(b, 12, "VP8L")) {
            return bitstreamHeader(b, 12, b.length, ImageErrorCode.INVALID_HEADER);
        }
        throw new ImageRejectedException(ImageErrorCode.INVALID_HEADER,
                "The WEBP header is invalid: the first chunk must be VP8, VP8L or VP8X.");
    }

    /**
     * Walks the chunks within the RIFF size, requires exactly one image chunk (whose size must equal a VP8X canvas),
     * and returns the orientation of an EXIF chunk (1 without one). Bytes after the RIFF end are ignored.
     */
    static int checkComplete(byte[] b) throws ImageRejectedException {
        long riffEnd = 8 + u32le(b, 4);
        if (riffEnd > b.length) {
            throw truncated("before the end that its RIFF header declares");
        }
        int end = (int) riffEnd;
        ImageHeader canvas = ascii(b, 12, "VP8X") ? readHeader(b) : null;
        int orientation = ExifOrientation.NORMAL;
        boolean exifSeen = false;
        boolean imageSeen = false;
        int pos = 12;
        while (pos < end) {
            if (end - pos < 8) {
                throw corrupt("a chunk header runs past the end of the RIFF data");
            }
            long size = u32le(b, pos + 4);
            boolean letters = isPrintable(b, pos);
            String type = letters ? fourCc(b, pos) : "unnamed";
            if (size > end - pos - 8) {
                throw truncated("inside its " + type + " chunk");
            }
            switch (letters ? type : "") {
                case "VP8 ", "VP8L" :
                    if (imageSeen) {
                        throw corrupt("more than one image chunk");
                    }
                    imageSeen = true;
                    ImageHeader frame = bitstreamHeader(b, pos, pos + 8 + (int) size, ImageErrorCode.DECODE_FAILED);
                    if (canvas != null
                            && (frame.width() != canvas.width() || frame.height() != canvas.height())) {
                        throw corrupt("the image is " + frame.width() + " x " + frame.height()
                                + " but the canvas " + canvas.width() + " x " + canvas.height());
                    }
                    break;
                case "EXIF" :
                    if (!exifSeen) {
                        orientation = ExifOrientation.fromTiff(b, pos + 8, (int) size);
                        exifSeen = true;
                    }
                    break;
                case "ANIM", "ANMF" :
                    throw animated();
                default :
                    break;
            }
            pos += 8 + (int) size + (int) (size & 1);
        }
        if (!imageSeen) {
            throw corrupt("no VP8 or VP8L image chunk");
        }
        return orientation;
    }

    /**
     * The size in the bitstream header of the VP8 or VP8L chunk that starts at {@code chunk} and whose data ends at
     * {@code limit}.
     */
    private static ImageHeader bitstreamHeader(byte[] b, int chunk, int limit, ImageErrorCode malformed)
            throws ImageRejectedException {
        int data = chunk + 8;
        if (ascii(b, chunk, "VP8L")) {
            if (limit - data < 5) {
                throw truncated("inside its VP8L header");
            }
            long bits = u32le(b, data + 1);
            if (u8(b, data) != VP8L_SIGNATURE || (bits >>> 29) != 0) {
                throw malformed(malformed, "the VP8L signature or version is wrong");
            }
            return new ImageHeader(ImageFormat.WEBP, (int) (bits & 0x3FFF) + 1, (int) ((bits >>> 14) & 0x3FFF) + 1);
        }
        if (limit - data < 10) {
            throw truncated("inside its VP8 header");
        }
        if ((u8(b, data) & 1) != 0) {
            throw malformed(malformed, "the VP8 frame is not a key frame");
        }
        if (u8(b, data + 3) != 0x9D || u8(b, data + 4) != 0x01 || u8(b, data + 5) != 0x2A) {
            throw malformed(malformed, "the VP8 start code is missing");
        }
        int width = u16le(b, data + 6) & 0x3FFF;
        int height = u16le(b, data + 8) & 0x3FFF;
        if (width == 0 || height == 0) {
            throw malformed(malformed, "the VP8 frame has a zero width or height");
        }
        return new ImageHeader(ImageFormat.WEBP, width, height);
    }

    private static boolean isPrintable(byte[] b, int pos) {
        for (int i = 0; i < 4; i++) {
            int c = b[pos + i];
            if (c < 0x20 || c > 0x7E) {
                return false;
            }
        }
        return true;
    }

    private static ImageRejectedException animated() {
        return new ImageRejectedException(ImageErrorCode.UNSUPPORTED_FORMAT,
                "The file is an animated WEBP; only still images are accepted.");
    }

    private static ImageRejectedException truncated(String where) {
        return new ImageRejectedException(ImageErrorCode.TRUNCATED_IMAGE, "The WEBP ends " + where + ".");
    }

    private static ImageRejectedException malformed(ImageErrorCode code, String what) {
        return code == ImageErrorCode.INVALID_HEADER
                ? new ImageRejectedException(code, "The WEBP header is invalid: " + what + ".")
                : corrupt(what);
    }

    private static ImageRejectedException corrupt(String what) {
        return new ImageRejectedException(ImageErrorCode.DECODE_FAILED, "The WEBP is corrupt: " + what + ".");
    }
}
