package dev.loupe.dataset.images;

import java.nio.charset.StandardCharsets;

import static dev.loupe.dataset.images.Bytes.ascii;
import static dev.loupe.dataset.images.Bytes.u8;

/**
 * Tells the format from the first bytes alone. Formats Loupe does not accept are still recognised, so that a GIF is
 * reported as an unsupported format rather than as something that is not an image.
 */
final class FormatSniffer {
    static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    /** How far into a text file to look for an {@code <svg} element. */
    private static final int SVG_WINDOW = 1024;

    private FormatSniffer() {
    }

    static ImageFormat sniff(byte[] b) throws ImageRejectedException {
        if (b.length == 0) {
            throw new ImageRejectedException(ImageErrorCode.NOT_AN_IMAGE, "The file is empty.");
        }
        if (startsWith(b, PNG_SIGNATURE)) {
            return ImageFormat.PNG;
        }
        if (b.length >= 3 && u8(b, 0) == 0xFF && u8(b, 1) == 0xD8 && u8(b, 2) == 0xFF) {
            return ImageFormat.JPEG;
        }
        if (ascii(b, 0, "RIFF") && ascii(b, 8, "WEBP")) {
            return ImageFormat.WEBP;
        }
        String other = unsupportedFormat(b);
        if (other != null) {
            throw new ImageRejectedException(ImageErrorCode.UNSUPPORTED_FORMAT,
                    "The file is a " + other + " image; only PNG, JPEG and WEBP are accepted.");
        }
        throw new ImageRejectedException(ImageErrorCode.NOT_AN_IMAGE,
                "The file is not a PNG, JPEG or WEBP image (its first bytes match none of them).");
    }

    /** The name of a recognised image format that Loupe does not accept, or null. */
    private static String unsupportedFormat(byte[] b) {
        if (ascii(b, 0, "GIF87a") || ascii(b, 0, "GIF89a")) {
            return "GIF";
        }
        if (ascii(b, 0, "II*\0") || ascii(b, 0, "MM\0*") || ascii(b, 0, "II+\0") || ascii(b, 0, "MM\0+")) {
            return "TIFF";
        }
        if (isBmp(b)) {
            return "BMP";
        }
        if (ascii(b, 4, "ftyp") && b.length >= 12) {
            String brand = new String(b, 8, 4, StandardCharsets.US_ASCII);
            switch (brand) {
                case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1" :
                    return "HEIF/HEIC";
                case "avif", "avis" :
                    return "AVIF";
                default :
                    return null;
            }
        }
        if (startsWith(b, new byte[]{0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', '\r', '\n', (byte) 0x87, '\n'})
                || startsWith(b, new byte[]{(byte) 0xFF, 0x4F, (byte) 0xFF, 0x51})) {
            return "JPEG 2000";
        }
        if (startsWith(b, new byte[]{(byte) 0xFF, 0x0A})
                || startsWith(b, new byte[]{0, 0, 0, 0x0C, 'J', 'X', 'L', ' ', '\r', '\n', (byte) 0x87, '\n'})) {
            return "JPEG XL";
        }
        if (ascii(b, 0, "8BPS")) {
            return "Photoshop (PSD)";
        }
        if (ascii(b, 0, "qoif")) {
            return "QOI";
        }
        if (b.length >= 6 && b[0] == 0 && b[1] == 0 && (b[2] == 1 || b[2] == 2) && b[3] == 0
                && (b[4] != 0 || b[5] != 0)) {
            return b[2] == 1 ? "ICO" : "CUR";
        }
        if (isSvg(b)) {
            return "SVG";
        }
        return null;
    }

    /** "BM" alone is too weak (any text may start so); the DIB header size must also be one of the known ones. */
    private static boolean isBmp(byte[] b) {
        if (!ascii(b, 0, "BM") || b.length < 18) {
            return false;
        }
        long dibSize = Bytes.u32le(b, 14);
        return dibSize == 12 || dibSize == 16 || dibSize == 40 || dibSize == 52 || dibSize == 56 || dibSize == 64
                || dibSize == 108 || dibSize == 124;
    }

    /** An XML or SVG text (optionally after a UTF-8 byte order mark and white space) with an svg element near its top. */
    private static boolean isSvg(byte[] b) {
        int i = startsWith(b, new byte[]{(byte) 0xEF, (byte) 0xBB, (byte) 0xBF}) ? 3 : 0;
        while (i < b.length && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) {
            i++;
        }
        if (i >= b.length || b[i] != '<') {
            return false;
        }
        int end = Math.min(b.length, i + SVG_WINDOW);
        for (int j = i; j + 4 <= end; j++) {
            if (b[j] == '<' && ascii(b, j + 1, "svg") && (j + 4 == b.length || !isNameChar(b[j + 4]))) {
                return true;
            }
        }
        return false;
    }

    private static boolean isNameChar(byte c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
                || c == ':' || c == '.';
    }

    private static boolean startsWith(byte[] b, byte[] prefix) {
        if (b.length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (b[i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }
}
