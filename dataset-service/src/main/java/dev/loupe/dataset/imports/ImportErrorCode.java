package dev.loupe.dataset.imports;

import java.util.Locale;

/**
 * Stable codes of import errors. Clients and reports key on {@link #code()} (lower_snake_case), which never changes
 * meaning once released; add codes, never rename or reuse one.
 */
public enum ImportErrorCode {
    /** The line (or the LLaVA file) is not syntactically valid JSON, or repeats a key in one object. */
    INVALID_JSON,
    /** The line (or LLaVA element) is longer than {@link ImportLimits#maxLineBytes()}. */
    LINE_TOO_LONG,
    /** The bytes are not valid UTF-8 (or the file is UTF-16/32). Nothing is replaced silently. */
    INVALID_UTF8,
    /** A field this format does not define; the pointer names it. */
    UNKNOWN_FIELD,
    /** A required field is absent. */
    MISSING_FIELD,
    /** A field has the wrong JSON type (string, number, object, array, ...). */
    WRONG_TYPE,
    /** A field has the right type but a value outside what is allowed (an empty id, a weight of 2, ...). */
    INVALID_VALUE,
    /** A message role (or LLaVA {@code from}) that is not one of the format's roles. */
    INVALID_ROLE,
    /** The turns are not in a valid order: optional system first, then user and assistant alternating. */
    ROLE_ORDER,
    /** A message's content is empty or only white space. */
    EMPTY_CONTENT,
    /** The text contains a token reserved by the chat template (or an {@code <image>} where images are parts). */
    RESERVED_TOKEN,
    /** An image in an assistant turn. */
    IMAGE_IN_ASSISTANT_TURN,
    /** An image in a system turn. */
    IMAGE_IN_SYSTEM_TURN,
    /** More images than {@link ImportLimits#maxImagesPerRecord()}; the pointer names the first one too many. */
    TOO_MANY_IMAGES,
    /** The number of {@code <image>} placeholders differs from the number of images. */
    PLACEHOLDER_COUNT_MISMATCH,
    /** A file reference that is empty, too long, or holds a backslash, a control character or an empty segment. */
    INVALID_PATH,
    /** A file reference that is absolute: a leading slash or backslash, or a drive letter. */
    ABSOLUTE_PATH,
    /** A file reference with a {@code ..} segment. */
    PATH_TRAVERSAL,
    /** A URL that does not parse, carries credentials, or spells an IP address in a non-canonical form. */
    INVALID_URL,
    /**
     * A URL scheme other than {@code https} (remote) or {@code data} (inline), {@code http://} included; or an
     * {@code https} URL whose host is not on the operator's allow-list.
     */
    REMOTE_URL_NOT_ALLOWED,
    /** A remote URL whose host is, or resolves to, a loopback, link-local, private or otherwise not public address. */
    PRIVATE_ADDRESS,
    /**
     * A remote image of an allow-listed host that could not be fetched: no answer in time, an error status, a
     * redirect (never followed), or more bytes than an image may have.
     */
    REMOTE_FETCH_FAILED,
    /** A {@code data:} URL that is not {@code data:<type>;base64,<payload>} with a valid base64 payload. */
    INVALID_DATA_URL,
    /** A declared image media type other than PNG, JPEG or WebP. */
    UNSUPPORTED_MEDIA_TYPE,
    /** An image larger than {@link ImportLimits#maxImageBytes()} (inline once decoded, or an archive file). */
    IMAGE_TOO_LARGE,
    /** A bounding box coordinate outside [0, 1], or a box whose x0 &gt;= x1 or y0 &gt;= y1. */
    BOX_OUT_OF_RANGE,
    /** An index that points at no image or no box (an annotation's {@code image}, a grounded QA's {@code box}). */
    INVALID_REFERENCE,
    /** A client id already used by an earlier line of the same import. */
    DUPLICATE_ID,
    /** The estimated tokens exceed {@link ImportLimits#maxSequenceTokens()}. */
    SEQUENCE_TOO_LONG,
    /** The import has more records than {@link ImportLimits#maxRecords()}. */
    TOO_MANY_RECORDS,
    /** A file reference naming no file of the uploaded archive. */
    MISSING_IMAGE_FILE,
    /** Image bytes that are no image at all (by their magic bytes; the file name and declared type count for nothing). */
    NOT_AN_IMAGE,
    /** An image in a format other than PNG, JPEG or WebP (by its magic bytes). */
    UNSUPPORTED_FORMAT,
    /** An image whose header cannot be read. */
    INVALID_HEADER,
    /** An image whose header declares more pixels or a longer side than allowed: refused before decoding. */
    DIMENSIONS_TOO_LARGE,
    /** An image cut short. */
    TRUNCATED_IMAGE,
    /** An image that does not decode cleanly. */
    DECODE_FAILED;

    private final String code = name().toLowerCase(Locale.ROOT);

    /** The stable lower_snake_case code, for example {@code role_order}. */
    public String code() {
        return code;
    }

    @Override
    public String toString() {
        return code;
    }
}
