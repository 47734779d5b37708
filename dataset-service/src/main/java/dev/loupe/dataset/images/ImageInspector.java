package dev.loupe.dataset.images;

import java.awt.color.CMMException;
import java.awt.color.ColorSpace;
import java.awt.color.ProfileDataException;
import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.awt.image.ImagingOpException;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;

import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.stream.ImageInputStream;

/**
 * Inspects one uploaded image and either returns it normalised or rejects it with a stable code. Thread-safe; one
 * instance serves any number of images.
 *
 * <p>
 * {@link #inspect(byte[])} runs these steps, each before the next, and stops at the first failure:
 * <ol>
 * <li>size: at most {@link ImageLimits#maxEncodedBytes()} ({@code image_too_large});</li>
 * <li>format from the magic bytes only: PNG, JPEG or WEBP ({@code not_an_image}, {@code unsupported_format});</li>
 * <li>width and height from the header (PNG IHDR, JPEG SOFn, WEBP VP8/VP8L/VP8X) by this package's own parsers,
 * checked against the limits before any decoding ({@code invalid_header}, {@code dimensions_too_large}): a
 * decompression bomb is refused in microseconds and allocates nothing of its size;</li>
 * <li>completeness, by walking the whole file: every PNG chunk with a valid CRC up to IEND, every JPEG segment and
 * scan up to EOI, every WEBP chunk within the RIFF size ({@code truncated_image}, {@code decode_failed}). ImageIO
 * would otherwise decode a cut file partially and say nothing;</li>
 * <li>decoding with ImageIO, the reader seeing only these bytes; the decoder must agree with the header's size, and a
 * decoder warning about corrupt data is a rejection ({@code decode_failed});</li>
 * <li>conversion to 8-bit sRGB, line by line: palettes expanded, grey replicated, 16-bit samples rounded to 8,
 * alpha composited over white, ICC and CMYK colour converted, the EXIF orientation applied;</li>
 * <li>re-encoding as an 8-bit RGB PNG of IHDR, IDAT and IEND only, deterministic for given pixels.</li>
 * </ol>
 *
 * <p>
 * Memory: one decoded image is held at a time, at most 4 bytes a pixel. ImageIO decodes PNG and JPEG at 1 to 4
 * bytes a pixel (TwelveMonkeys decodes WEBP at 3 or 4), and a 16-bit PNG, which ImageIO would decode at up to 8, is
 * decoded straight into 8-bit samples. The peak is therefore {@code 4 * width * height} bytes (160 MB at the default
 * 40 megapixels) plus the encoder's buffers: about {@code 21 * width} bytes of rows and filtered rows, one line of
 * {@code int} samples (up to 16 bytes a pixel of one row, or of one column where an EXIF orientation turns the image),
 * 64 KiB of IDAT, zlib's few hundred KiB off-heap, and the compressed PNG, which is rarely larger than
 * {@code 3 * width * height} bytes (noise) and usually far smaller. The PNG is copied into one array only once the
 * decoded image is unreachable. The encoded input is the caller's and is never copied. Off-heap, libjpeg holds the DCT
 * coefficients of a progressive JPEG while decoding it (2 bytes a sample). ImageIO's PNG reader also allocates about
 * one row of short-lived garbage per row.
 */
public final class ImageInspector {
    private final ImageLimits limits;

    /** An inspector with the default limits. */
    public ImageInspector() {
        this(ImageLimits.defaults());
    }

    /** An inspector with the given limits. */
    public ImageInspector(ImageLimits limits) {
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    /** The limits this inspector applies. */
    public ImageLimits limits() {
        return limits;
    }

    /**
     * The format of the encoded bytes, from their magic bytes alone.
     *
     * @throws ImageRejectedException {@code not_an_image} or {@code unsupported_format}
     */
    public static ImageFormat sniff(byte[] encoded) throws ImageRejectedException {
        return FormatSniffer.sniff(Objects.requireNonNull(encoded, "encoded"));
    }

    /**
     * Whether this JVM has an ImageIO reader for the format. PNG and JPEG readers come with the JDK; a WEBP reader
     * is found on the class path by ImageIO's service loader (TwelveMonkeys {@code imageio-webp}).
     */
    public static boolean canDecode(ImageFormat format) {
        return ImageIO.getImageReadersByFormatName(format.imageIoName()).hasNext();
    }

    /**
     * Steps 1 to 3 of {@link #inspect(byte[])}: size, format and the header's width and height against the limits,
     * without decoding and without walking the rest of the file. The size is the one stored, before any EXIF
     * orientation; it passes if it fits the limits either way round ({@link #inspect(byte[])} then checks the
     * orientation the image is shown in).
     */
    public ImageHeader readHeader(byte[] encoded) throws ImageRejectedException {
        Objects.requireNonNull(encoded, "encoded");
        if (encoded.length > limits.maxEncodedBytes()) {
            throw new ImageRejectedException(ImageErrorCode.IMAGE_TOO_LARGE, "The image is " + encoded.length
                    + " bytes; the limit is " + limits.maxEncodedBytes() + " bytes.");
        }
        ImageFormat format = FormatSniffer.sniff(encoded);
        ImageHeader header = switch (format) {
            case PNG -> PngStructure.readHeader(encoded);
            case JPEG -> JpegStructure.readHeader(encoded);
            case WEBP -> WebpStructure.readHeader(encoded);
        };
        // The stored size may still be turned by an EXIF orientation found later; inspect checks the turned size.
        if (!fits(header.width(), header.height()) && !fits(header.height(), header.width())) {
            throw tooLarge(header.width(), header.height());
        }
        return header;
    }

    /**
     * Reads at most {@link ImageLimits#maxEncodedBytes()} + 1 bytes from {@code in} (so an endless stream is refused
     * with {@code image_too_large}) and {@linkplain #inspect(byte[]) inspects} them. Does not close the stream.
     */
    public NormalisedImage inspect(InputStream in) throws IOException, ImageRejectedException {
        byte[] encoded = in.readNBytes(limits.maxEncodedBytes() + 1);
        return inspect(encoded);
    }

    /**
     * Inspects and normalises one encoded image.
     *
     * @throws ImageRejectedException with the code of the first check that failed
     */
    public NormalisedImage inspect(byte[] encoded) throws ImageRejectedException {
        ImageHeader header = readHeader(encoded);
        int orientation = switch (header.format()) {
            case PNG -> PngStructure.checkComplete(encoded);
            case JPEG -> JpegStructure.checkComplete(encoded);
            case WEBP -> WebpStructure.checkComplete(encoded);
        };
        boolean swap = ExifOrientation.swapsAxes(orientation);
        int width = swap ? header.height() : header.width();
        int height = swap ? header.width() : header.height();
        if (!fits(width, height)) {
            throw tooLarge(width, height);
        }
        PngWriter.Output encodedPng = decodeAndEncode(encoded, header, orientation, width, height);
        byte[] png = encodedPng.toByteArray();
        return new NormalisedImage(png, width, height, header.format(), orientation, sha256(png));
    }

    /**
     * Decodes and re-encodes in one frame of its own, so that the decoded image is unreachable once this returns and
     * the collector can reclaim it before the output is copied into one array.
     */
    private static PngWriter.Output decodeAndEncode(byte[] encoded, ImageHeader header, int orientation, int width,
            int height) throws ImageRejectedException {
        BufferedImage image = decode(encoded, header);
        RgbConverter converter = new RgbConverter(image);
        int sourceWidth = header.width();
        int sourceHeight = header.height();
        try {
            return PngWriter.write(width, height, (y, rgb) -> convertRow(converter, orientation, sourceWidth,
                    sourceHeight, y, rgb));
        } catch (CMMException | ProfileDataException | ImagingOpException e) {
            // Colour management of an embedded profile the JDK could parse but not apply.
            throw new ImageRejectedException(ImageErrorCode.DECODE_FAILED,
                    "The " + header.format() + "'s colours could not be converted to sRGB: " + describe(e) + ".");
        }
    }

    /** Writes output row {@code y}: the source line it comes from under the orientation, reversed where needed. */
    private static void convertRow(RgbConverter converter, int orientation, int sourceWidth, int sourceHeight, int y,
            byte[] rgb) throws ImageRejectedException {
        // Which source line becomes output row y, and whether it runs backwards (TIFF 6.0 orientation).
        switch (orientation) {
            case 3, 4 -> converter.convert(0, sourceHeight - 1 - y, sourceWidth, 1, rgb);
            case 5, 6 -> converter.convert(y, 0, 1, sourceHeight, rgb);
            case 7, 8 -> converter.convert(sourceWidth - 1 - y, 0, 1, sourceHeight, rgb);
            default -> converter.convert(0, y, sourceWidth, 1, rgb); // 1 and 2
        }
        if (orientation == 2 || orientation == 3 || orientation == 6 || orientation == 7) {
            reverseTriplets(rgb);
        }
    }

    private static BufferedImage decode(byte[] encoded, ImageHeader header) throws ImageRejectedException {
        ImageFormat format = header.format();
        Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName(format.imageIoName());
        if (!readers.hasNext()) {
            throw new ImageRejectedException(ImageErrorCode.UNSUPPORTED_FORMAT,
                    "This server has no " + format + " decoder installed; convert the image to PNG or JPEG.");
        }
        ImageReader reader = readers.next();
        List<String> warnings = new ArrayList<>();
        try (ImageInputStream in = new ByteArrayImageInputStream(encoded)) {
            reader.setInput(in, true, true);
            reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
            int width = reader.getWidth(0);
            int height = reader.getHeight(0);
            if (width != header.width() || height != header.height()) {
                throw new ImageRejectedException(ImageErrorCode.DECODE_FAILED, "The " + format + " decoder reads "
                        + width + " x " + height + " but the header says " + header.width() + " x "
                        + header.height() + ".");
            }
            ImageReadParam param = reader.getDefaultReadParam();
            if (format == ImageFormat.PNG && encoded[PngStructure.BIT_DEPTH_OFFSET] == 16) {
                // Left alone, ImageIO would decode 16-bit samples into 16 bits, up to 8 bytes a pixel.
                param.setDestination(eightBitDestination(encoded[PngStructure.COLOUR_TYPE_OFFSET], width, height));
            }
            BufferedImage image = reader.read(0, param);
            rejectWarnings(format, warnings);
            if (image.getWidth() != width || image.getHeight() != height) {
                throw new ImageRejectedException(ImageErrorCode.DECODE_FAILED,
                        "The " + format + " decoder returned an image of another size.");
            }
            return image;
        } catch (IOException e) {
            boolean truncated = hasCause(e, EOFException.class);
            throw new ImageRejectedException(truncated ? ImageErrorCode.TRUNCATED_IMAGE : ImageErrorCode.DECODE_FAILED,
                    "The " + format + " could not be decoded" + (truncated ? " (its data ends early)" : "") + ": "
                            + describe(e) + ".");
        } catch (RuntimeException e) {
            // Decoders signal some corrupt input with unchecked exceptions (IllegalArgumentException,
            // ArrayIndexOutOfBoundsException, ...); none of them is a fault of this service.
            throw new ImageRejectedException(ImageErrorCode.DECODE_FAILED,
                    "The " + format + " could not be decoded: " + describe(e) + ".");
        } finally {
            reader.dispose();
        }
    }

    /**
     * An 8-bit image with the same bands as the 16-bit PNG colour type. A colour-keyed transparent colour (tRNS) of
     * a 16-bit grey or RGB PNG is then not applied: such pixels keep their colour rather than turn white, a rare case
     * that is not worth twice the memory.
     */
    private static BufferedImage eightBitDestination(int colourType, int width, int height) {
        ColorSpace srgb = ColorSpace.getInstance(ColorSpace.CS_sRGB);
        ImageTypeSpecifier type = switch (colourType) {
            case 0 -> ImageTypeSpecifier.createGrayscale(8, DataBuffer.TYPE_BYTE, false);
            case 4 -> ImageTypeSpecifier.createGrayscale(8, DataBuffer.TYPE_BYTE, false, false);
            case 2 -> ImageTypeSpecifier.createInterleaved(srgb, new int[]{0, 1, 2}, DataBuffer.TYPE_BYTE, false,
                    false);
            case 6 -> ImageTypeSpecifier.createInterleaved(srgb, new int[]{0, 1, 2, 3}, DataBuffer.TYPE_BYTE, true,
                    false);
            default -> throw new IllegalStateException("no 16-bit PNG has colour type " + colourType);
        };
        return type.createBufferedImage(width, height);
    }

    /**
     * PNG and WEBP readers warn only about malformed files. The JDK's JPEG reader also warns about harmless things
     * (an unknown JFIF revision, an invalid ICC profile it ignores); libjpeg's warnings about the data itself have
     * fixed English texts, and only those reject.
     */
    private static void rejectWarnings(ImageFormat format, List<String> warnings) throws ImageRejectedException {
        for (String warning : warnings) {
            String text = warning == null ? "" : warning;
            if (format == ImageFormat.JPEG && !(text.startsWith("Corrupt JPEG data") || text.startsWith("Premature end")
                    || text.startsWith("Invalid SOS") || text.startsWith("Inconsistent progression"))) {
                continue;
            }
            ImageErrorCode code = text.startsWith("Premature end")
                    ? ImageErrorCode.TRUNCATED_IMAGE
                    : ImageErrorCode.DECODE_FAILED;
            throw new ImageRejectedException(code, "The " + format + " decoder reported: " + shorten(text) + ".");
        }
    }

    private boolean fits(int width, int height) {
        return width <= limits.maxWidth() && height <= limits.maxHeight()
                && (long) width * height <= limits.maxPixels();
    }

    private ImageRejectedException tooLarge(int width, int height) {
        return new ImageRejectedException(ImageErrorCode.DIMENSIONS_TOO_LARGE,
                "The image is " + width + " x " + height + " pixels; the limits are " + limits.maxWidth() + " x "
                        + limits.maxHeight() + " and " + limits.maxPixels() + " pixels.");
    }

    private static void reverseTriplets(byte[] rgb) {
        for (int i = 0, j = rgb.length - 3; i < j; i += 3, j -= 3) {
            for (int k = 0; k < 3; k++) {
                byte t = rgb[i + k];
                rgb[i + k] = rgb[j + k];
                rgb[j + k] = t;
            }
        }
    }

    private static boolean hasCause(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    /** The innermost message of a decoder's exception chain, short; never a stack trace. */
    private static String describe(Throwable e) {
        String message = null;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                message = t.getMessage();
            }
        }
        return shorten(message == null ? e.getClass().getSimpleName() : message);
    }

    private static String shorten(String text) {
        String oneLine = text.replaceAll("\\s+", " ").strip();
        return oneLine.length() <= 200 ? oneLine : oneLine.substring(0, 200) + "...";
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
