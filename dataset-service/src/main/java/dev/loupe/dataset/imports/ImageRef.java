package dev.loupe.dataset.imports;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.URI;
import java.util.Arrays;
import java.util.Objects;

/**
 * Where one image of a record comes from. Well-formedness is checked when a reference is made (see
 * {@link ImageReferences}); whether the bytes are really an image of the declared type is the image package's job.
 */
public sealed interface ImageRef permits ImageRef.ArchiveFile, ImageRef.InlineImage, ImageRef.RemoteUrl {

    /**
     * A file of the upload's images archive, by its relative path inside it.
     *
     * @param path relative, {@code /}-separated, no {@code ..}, {@code .} or empty segment, no backslash, drive
     *        letter or control character
     */
    record ArchiveFile(String path) implements ImageRef {
        public ArchiveFile {
            try {
                ImageReferences.checkArchivePath(path);
            } catch (InvalidImageReferenceException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            }
        }
    }

    /**
     * An image given inline as a base64 {@code data:} URL, decoded. The bytes are copied in and never handed out, so
     * the record stays immutable; read them through {@link #openStream()}.
     *
     * @param declaredMediaType the media type the URL declared ({@code image/png}, {@code image/jpeg} or
     *        {@code image/webp}); a claim, not a fact, until the bytes are sniffed
     * @param bytes the decoded bytes
     */
    record InlineImage(String declaredMediaType, byte[] bytes) implements ImageRef {
        public InlineImage {
            Objects.requireNonNull(declaredMediaType, "declaredMediaType");
            if (!ImageReferences.MEDIA_TYPES.contains(declaredMediaType)) {
                throw new IllegalArgumentException("unsupported media type " + declaredMediaType);
            }
            bytes = bytes.clone();
        }

        /** A copy of the bytes; prefer {@link #openStream()} for large images. */
        @Override
        public byte[] bytes() {
            return bytes.clone();
        }

        /** The bytes, read without copying them. */
        public InputStream openStream() {
            return new ByteArrayInputStream(bytes);
        }

        public int size() {
            return bytes.length;
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof InlineImage that && declaredMediaType.equals(that.declaredMediaType)
                    && Arrays.equals(bytes, that.bytes);
        }

        @Override
        public int hashCode() {
            return 31 * declaredMediaType.hashCode() + Arrays.hashCode(bytes);
        }

        /** Never the bytes: a record's string must stay short and must not leak image content into logs. */
        @Override
        public String toString() {
            return "InlineImage[" + declaredMediaType + ", " + bytes.length + " bytes]";
        }
    }

    /**
     * An {@code https://} URL kept as a reference. Its host is not loopback, link-local, private or unspecified
     * when written as an IP literal, and not {@code localhost}; whether it may be fetched at all is decided later by
     * the operator's allow-list, and the fetcher must check the address the name resolves to again.
     */
    record RemoteUrl(URI url) implements ImageRef {
        public RemoteUrl {
            Objects.requireNonNull(url, "url");
            try {
                ImageReferences.checkRemote(url);
            } catch (InvalidImageReferenceException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            }
        }
    }
}
