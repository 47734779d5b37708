/**
 * Inspecting and normalising one uploaded image before anything is stored: the format is sniffed from magic bytes,
 * width and height are read from the header by small parsers of this package and limited before any pixel is
 * decoded (decompression bombs), the file must be complete, and the pixels are re-encoded as an 8-bit sRGB PNG that
 * carries no metadata at all. {@link dev.loupe.dataset.images.ImageInspector} is the entry point; a rejection is an
 * {@link dev.loupe.dataset.images.ImageRejectedException} with a stable
 * {@link dev.loupe.dataset.images.ImageErrorCode}.
 *
 * <p>
 * Plain Java with no CDI and no I/O: decoding is done by the JDK's ImageIO readers (PNG, JPEG) and by any WEBP
 * reader ImageIO discovers on the class path (TwelveMonkeys {@code imageio-webp}).
 */
package dev.loupe.dataset.images;
