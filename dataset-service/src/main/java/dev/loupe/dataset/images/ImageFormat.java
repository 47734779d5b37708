package dev.loupe.dataset.images;

/** The image formats Loupe accepts, as recognised from their magic bytes (never from a file name or media type). */
public enum ImageFormat {
    /** Portable Network Graphics. */
    PNG("image/png", "png"),
    /** JPEG (JFIF or EXIF), baseline or progressive. */
    JPEG("image/jpeg", "jpeg"),
    /** WebP, lossy or lossless, still images only. */
    WEBP("image/webp", "webp");

    private final String mediaType;
    private final String imageIoName;

    ImageFormat(String mediaType, String imageIoName) {
        this.mediaType = mediaType;
        this.imageIoName = imageIoName;
    }

    /** The IANA media type, for example {@code image/png}. */
    public String mediaType() {
        return mediaType;
    }

    /** The format name ImageIO registers its readers under. */
    String imageIoName() {
        return imageIoName;
    }
}
