package dev.loupe.dataset.images;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.HexFormat;
import java.util.Objects;

/**
 * An image that passed inspection, re-encoded as an 8-bit sRGB PNG with only IHDR, IDAT and IEND chunks: no EXIF,
 * GPS, text, ICC profile or time survives. Immutable; the PNG is not copied by {@link #openStream()} or
 * {@link #writeTo(OutputStream)}, only by {@link #toByteArray()}.
 */
public final class NormalisedImage {
    private final byte[] png;
    private final int width;
    private final int height;
    private final ImageFormat sourceFormat;
    private final int sourceOrientation;
    private final byte[] sha256;

    NormalisedImage(byte[] png, int width, int height, ImageFormat sourceFormat, int sourceOrientation,
            byte[] sha256) {
        this.png = Objects.requireNonNull(png, "png");
        this.width = width;
        this.height = height;
        this.sourceFormat = Objects.requireNonNull(sourceFormat, "sourceFormat");
        this.sourceOrientation = sourceOrientation;
        this.sha256 = Objects.requireNonNull(sha256, "sha256");
    }

    /** A copy of the normalised PNG. */
    public byte[] toByteArray() {
        return png.clone();
    }

    /** The normalised PNG, read without copying it. */
    public InputStream openStream() {
        return new ByteArrayInputStream(png);
    }

    /** Writes the normalised PNG to {@code out}. */
    public void writeTo(OutputStream out) throws IOException {
        out.write(png);
    }

    /** The size of the normalised PNG, in bytes. */
    public int size() {
        return png.length;
    }

    /** Width in pixels, after the source's EXIF orientation was applied. */
    public int width() {
        return width;
    }

    /** Height in pixels, after the source's EXIF orientation was applied. */
    public int height() {
        return height;
    }

    /** The format of the uploaded bytes. */
    public ImageFormat sourceFormat() {
        return sourceFormat;
    }

    /**
     * The EXIF orientation of the source (1 to 8; 1 where it had none), already applied to the pixels: the PNG shows
     * the image the way a viewer showed the source. With 5 to 8 the width and height are those of the source swapped.
     */
    public int sourceOrientation() {
        return sourceOrientation;
    }

    /**
     * SHA-256 of the normalised PNG bytes. The same pixels give the same bytes on the same JDK and zlib; a different
     * zlib build may compress differently, so a duplicate index keyed on this must be rebuilt after such an upgrade.
     */
    public byte[] sha256() {
        return sha256.clone();
    }

    /** {@link #sha256()} as 64 lower-case hex digits. */
    public String sha256Hex() {
        return HexFormat.of().formatHex(sha256);
    }

    @Override
    public String toString() {
        return "NormalisedImage[" + width + "x" + height + ", " + png.length + " bytes, from " + sourceFormat
                + ", sha256=" + sha256Hex() + "]";
    }
}
