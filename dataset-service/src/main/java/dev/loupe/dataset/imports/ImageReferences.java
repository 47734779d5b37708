package dev.loupe.dataset.imports;

import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

import dev.loupe.support.net.PublicAddresses;

/**
 * Turns the text of an image reference into an {@link ImageRef}, or says why it cannot be one. The rules, in the
 * order they are tried:
 * <ol>
 * <li>{@code data:image/(png|jpeg|webp);base64,<payload>}: decoded, once its decoded size is known to be within
 * the limit;</li>
 * <li>{@code https://host/...}: kept as a {@link ImageRef.RemoteUrl} if the host is not an IP literal of a
 * non-public range and not {@code localhost}; any other scheme, {@code http} included, is refused;</li>
 * <li>anything else is a relative path inside the images archive.</li>
 * </ol>
 * Nothing here touches the network: IP literals are parsed locally and host names are never resolved.
 */
public final class ImageReferences {
    /** The image media types an inline image may declare. */
    public static final Set<String> MEDIA_TYPES = Set.of("image/png", "image/jpeg", "image/webp");
    /** Longest archive path, in UTF-8 bytes (what zip and most file systems allow). */
    public static final int MAX_PATH_BYTES = 1024;
    /** Longest remote URL, in characters. */
    public static final int MAX_URL_LENGTH = 2048;

    private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*:");
    private static final Pattern DRIVE = Pattern.compile("^[A-Za-z]:");
    private static final Pattern NUMERIC_LABEL = Pattern.compile("[0-9]+|0[xX][0-9a-fA-F]*");
    private static final Pattern CANONICAL_IPV4 = Pattern
            .compile(
                    "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}");

    private ImageReferences() {
    }

    /**
     * Parses one reference as written in an import line.
     *
     * @param maxImageBytes largest decoded inline image
     * @throws InvalidImageReferenceException with the code of the rule the reference breaks
     */
    public static ImageRef parse(String reference, int maxImageBytes) throws InvalidImageReferenceException {
        if (reference.regionMatches(true, 0, "data:", 0, 5)) {
            return parseDataUrl(reference, maxImageBytes);
        }
        var scheme = SCHEME.matcher(reference);
        if (scheme.lookingAt() && scheme.end() > 2) {
            String name = reference.substring(0, scheme.end() - 1).toLowerCase(Locale.ROOT);
            if (!name.equals("https")) {
                throw new InvalidImageReferenceException(ImportErrorCode.REMOTE_URL_NOT_ALLOWED,
                        name.equals("http")
                                ? "plain http:// URLs are refused; use https://"
                                : "the URL scheme " + Text.quote(name)
                                        + " is not supported; use a file of the images archive, a data: URL or"
                                        + " https://");
            }
            if (reference.length() > MAX_URL_LENGTH) {
                throw new InvalidImageReferenceException(ImportErrorCode.INVALID_URL,
                        "the URL is longer than " + MAX_URL_LENGTH + " characters");
            }
            URI uri;
            try {
                uri = new URI(reference);
            } catch (URISyntaxException e) {
                throw new InvalidImageReferenceException(ImportErrorCode.INVALID_URL,
                        "not a valid URL: " + e.getReason());
            }
            checkRemote(uri);
            return new ImageRef.RemoteUrl(uri);
        }
        checkArchivePath(reference);
        return new ImageRef.ArchiveFile(reference);
    }

    /**
     * Checks a path of a file inside the images archive. The same rules apply to the archive's entry names when it
     * is read.
     */
    public static void checkArchivePath(String path) throws InvalidImageReferenceException {
        if (path == null || path.isEmpty()) {
            throw new InvalidImageReferenceException(ImportErrorCode.INVALID_PATH, "the image reference is empty");
        }
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                throw new InvalidImageReferenceException(ImportErrorCode.INVALID_PATH,
                        "the path holds a control character (code " + (int) c + ") at position " + i);
            }
        }
        if (path.startsWith("/") || path.startsWith("\\") || DRIVE.matcher(path).lookingAt()) {
            throw new InvalidImageReferenceException(ImportErrorCode.ABSOLUTE_PATH,
                    "the path " + Text.quote(path) + " is absolute; name a file relative to the images archive");
        }
        if (path.indexOf('\\') >= 0) {
            throw new InvalidImageReferenceException(ImportErrorCode.INVALID_PATH,
                    "the path " + Text.quote(path) + " holds a backslash; separate folders with /");
        }
        for (String segment : path.split("/", -1)) {
            if (segment.equals("..")) {
                throw new InvalidImageReferenceException(ImportErrorCode.PATH_TRAVERSAL,
                        "the path " + Text.quote(path) + " climbs out of the images archive with ..");
            }
        }
        for (String segment : path.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".")) {
                throw new InvalidImageReferenceException(ImportErrorCode.INVALID_PATH, "the path " + Text.quote(path)
                        + " has an empty or . segment; write it as a plain relative path like images/cat.png");
            }
        }
        if (path.getBytes(StandardCharsets.UTF_8).length > MAX_PATH_BYTES) {
            throw new InvalidImageReferenceException(ImportErrorCode.INVALID_PATH,
                    "the path is longer than " + MAX_PATH_BYTES + " bytes");
        }
    }

    /** Checks that a URL may be kept as a remote reference (the allow-list is checked later, by the fetcher). */
    static void checkRemote(URI uri) throws InvalidImageReferenceException {
        if (!"https".equalsIgnoreCase(uri.getScheme())) {
            throw new InvalidImageReferenceException(ImportErrorCode.REMOTE_URL_NOT_ALLOWED,
                    "only https:// URLs can name remote images");
        }
        if (uri.getRawUserInfo() != null) {
            throw new InvalidImageReferenceException(ImportErrorCode.INVALID_URL,
                    "the URL carries credentials (user@host); they are never accepted in a dataset");
        }
        String host = uri.getHost();
        if (host == null || host.isEmpty()) {
            throw new InvalidImageReferenceException(ImportErrorCode.INVALID_URL,
                    "the URL has no valid host name");
        }
        host = host.toLowerCase(Locale.ROOT);
        if (host.startsWith("[")) {
            checkIpv6(host);
            return;
        }
        while (host.endsWith(".")) {
            host = host.substring(0, host.length() - 1);
        }
        if (host.equals("localhost") || host.endsWith(".localhost")) {
            throw new InvalidImageReferenceException(ImportErrorCode.PRIVATE_ADDRESS,
                    "the host " + Text.quote(host) + " is not a public address: loopback");
        }
        String lastLabel = host.substring(host.lastIndexOf('.') + 1);
        if (NUMERIC_LABEL.matcher(lastLabel).matches()) {
            // Resolvers read 127.1, 0x7f.0.0.1 and 2130706433 as addresses: only the canonical form is checkable.
            if (!CANONICAL_IPV4.matcher(host).matches()) {
                throw new InvalidImageReferenceException(ImportErrorCode.INVALID_URL, "the host " + Text.quote(host)
                        + " is not a canonical dotted-quad IPv4 address");
            }
            int address = parseIpv4(host);
            try {
                checkPublicAddress(InetAddress.getByAddress(new byte[]{(byte) (address >>> 24),
                        (byte) (address >>> 16), (byte) (address >>> 8), (byte) address}), host);
            } catch (UnknownHostException e) {
                throw new IllegalStateException("four bytes are an IPv4 address", e);
            }
        }
    }

    private static void checkIpv6(String bracketed) throws InvalidImageReferenceException {
        if (bracketed.indexOf('%') >= 0) {
            throw new InvalidImageReferenceException(ImportErrorCode.INVALID_URL,
                    "IPv6 zone ids are not accepted in URLs");
        }
        InetAddress address;
        try {
            // A bracketed literal is parsed, never looked up: InetAddress refuses it rather than resolving.
            address = InetAddress.getByName(bracketed);
        } catch (UnknownHostException e) {
            throw new InvalidImageReferenceException(ImportErrorCode.INVALID_URL,
                    "the host " + Text.quote(bracketed) + " is not a valid IPv6 address");
        }
        checkPublicAddress(address, bracketed);
    }

    /**
     * Refuses an address that is not public ({@link PublicAddresses}). For IP literals in URLs, and for the
     * addresses a remote host name resolves to before anything is fetched from it.
     *
     * @param host how the refusal names the host
     */
    public static void checkPublicAddress(InetAddress address, String host) throws InvalidImageReferenceException {
        java.util.Optional<String> why = PublicAddresses.whyNotPublic(address);
        if (why.isPresent()) {
            throw new InvalidImageReferenceException(ImportErrorCode.PRIVATE_ADDRESS, "the host " + Text.quote(host)
                    + " is not a public address: " + why.get());
        }
    }

    /** A canonical dotted quad as a 32-bit number. */
    private static int parseIpv4(String dotted) {
        int address = 0;
        for (String part : dotted.split("\\.")) {
            address = (address << 8) | Integer.parseInt(part);
        }
        return address;
    }

    private static ImageRef parseDataUrl(String url, int maxImageBytes) throws InvalidImageReferenceException {
        int comma = url.indexOf(',');
        if (comma < 0) {
            throw new InvalidImageReferenceException(ImportErrorCode.INVALID_DATA_URL,
                    "a data: URL needs a comma before its payload: data:image/png;base64,...");
        }
        String header = url.substring(5, comma).toLowerCase(Locale.ROOT);
        if (!header.endsWith(";base64")) {
            throw new InvalidImageReferenceException(ImportErrorCode.INVALID_DATA_URL,
                    "only base64 data: URLs are accepted: data:image/png;base64,...");
        }
        String mediaType = header.substring(0, header.length() - ";base64".length());
        if (mediaType.indexOf(';') >= 0) {
            throw new InvalidImageReferenceException(ImportErrorCode.INVALID_DATA_URL,
                    "media type parameters are not accepted in an image data: URL");
        }
        if (!MEDIA_TYPES.contains(mediaType)) {
            throw new InvalidImageReferenceException(ImportErrorCode.UNSUPPORTED_MEDIA_TYPE,
                    "the media type " + Text.quote(mediaType) + " is not accepted; use image/png, image/jpeg or"
                            + " image/webp");
        }
        int length = url.length() - comma - 1;
        if (length == 0 || length % 4 != 0) {
            throw new InvalidImageReferenceException(ImportErrorCode.INVALID_DATA_URL,
                    "the base64 payload is empty or its length is not a multiple of 4");
        }
        int padding = url.endsWith("==") ? 2 : url.endsWith("=") ? 1 : 0;
        long decoded = (long) length / 4 * 3 - padding;
        if (decoded > maxImageBytes) {
            throw new InvalidImageReferenceException(ImportErrorCode.IMAGE_TOO_LARGE,
                    "the image has " + decoded + " bytes; at most " + maxImageBytes + " are accepted");
        }
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(url.substring(comma + 1));
        } catch (IllegalArgumentException e) {
            throw new InvalidImageReferenceException(ImportErrorCode.INVALID_DATA_URL,
                    "the payload is not valid base64 (standard alphabet, no line breaks)");
        }
        return new ImageRef.InlineImage(mediaType, bytes);
    }
}
