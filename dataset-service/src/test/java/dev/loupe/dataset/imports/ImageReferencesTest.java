package dev.loupe.dataset.imports;

import java.net.URI;
import java.util.Base64;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ImageReferencesTest {
    private static final int LIMIT = 10 * 1024 * 1024;

    @ParameterizedTest
    @ValueSource(strings = {"cat.png", "images/train/0001.jpg", "coco/train2017/000000033471.jpg", "a b/ü.webp",
            "..hidden/x.png", "x..y.png"})
    void relativeNamesAreArchiveFiles(String name) throws InvalidImageReferenceException {
        ImageRef ref = ImageReferences.parse(name, LIMIT);
        assertEquals(new ImageRef.ArchiveFile(name), ref);
    }

    @ParameterizedTest
    @ValueSource(strings = {"https://images.example.com/cats/1.png", "HTTPS://Example.COM/a.png?size=large",
            "https://8.8.8.8/a.png", "https://[2606:4700:4700::1111]/a.png", "https://example.com:8443/a.png"})
    void publicHttpsUrlsAreKeptAsReferences(String url) throws InvalidImageReferenceException {
        ImageRef ref = ImageReferences.parse(url, LIMIT);
        assertEquals(new ImageRef.RemoteUrl(URI.create(url)), ref);
    }

    @ParameterizedTest
    @CsvSource({"https://127.000.000.001/a.png, INVALID_URL", // leading zeros read as octal by some resolvers
            "https://[2002:7f00:1::]/a.png, PRIVATE_ADDRESS", // 6to4 around 127.0.0.1
            "https://[::7f00:1]/a.png, PRIVATE_ADDRESS", // IPv4-compatible 127.0.0.1
            "https://[ff02::1]/a.png, PRIVATE_ADDRESS", // multicast
            "https://[2001:db8::1]/a.png, PRIVATE_ADDRESS", // documentation
            "https://100.64.1.1/a.png, PRIVATE_ADDRESS", // carrier-grade NAT
            "https://172.31.255.255/a.png, PRIVATE_ADDRESS", "https://255.255.255.255/a.png, PRIVATE_ADDRESS",
            "https://printer.localhost/a.png, PRIVATE_ADDRESS", "https://[fe80::1%25eth0]/a.png, INVALID_URL",
            "https:///a.png, INVALID_URL", "https://exa mple.com/a.png, INVALID_URL",
            "ftp://example.com/a.png, REMOTE_URL_NOT_ALLOWED", "HTTP://example.com/a.png, REMOTE_URL_NOT_ALLOWED",
            "'', INVALID_PATH", "images/, INVALID_PATH", "./a.png, INVALID_PATH", "a/./b.png, INVALID_PATH",
            "https://1.2.3.04/a.png, INVALID_URL"})
    void refusals(String reference, ImportErrorCode code) {
        InvalidImageReferenceException e = assertThrows(InvalidImageReferenceException.class,
                () -> ImageReferences.parse(reference, LIMIT));
        assertEquals(code, e.code(), e.getMessage());
    }

    @Test
    void backslashTraversalIsRefusedEvenWithoutLeadingSlash() {
        InvalidImageReferenceException e = assertThrows(InvalidImageReferenceException.class,
                () -> ImageReferences.parse("a\\..\\..\\x.png", LIMIT));
        assertEquals(ImportErrorCode.INVALID_PATH, e.code());
    }

    @Test
    void dataUrlsAreDecodedWithTheirDeclaredType() throws InvalidImageReferenceException {
        byte[] bytes = {1, 2, 3, 4, 5};
        ImageRef ref = ImageReferences.parse("DATA:Image/JPEG;BASE64," + Base64.getEncoder().encodeToString(bytes),
                LIMIT);
        ImageRef.InlineImage inline = assertInstanceOf(ImageRef.InlineImage.class, ref);
        assertEquals("image/jpeg", inline.declaredMediaType());
        assertArrayEquals(bytes, inline.bytes());
        assertEquals(5, inline.size());
    }

    @Test
    void theSizeLimitIsCheckedBeforeDecoding() throws InvalidImageReferenceException {
        String exactly = "data:image/png;base64," + Base64.getEncoder().encodeToString(new byte[300]);
        assertEquals(300, ((ImageRef.InlineImage) ImageReferences.parse(exactly, 300)).size());
        InvalidImageReferenceException e = assertThrows(InvalidImageReferenceException.class,
                () -> ImageReferences.parse(exactly, 299));
        assertEquals(ImportErrorCode.IMAGE_TOO_LARGE, e.code());
    }

    @Test
    void inlineImagesAreImmutableComparedByContentAndNeverPrinted() {
        byte[] bytes = {9, 8, 7};
        ImageRef.InlineImage image = new ImageRef.InlineImage("image/png", bytes);
        bytes[0] = 0;
        image.bytes()[1] = 0;
        assertArrayEquals(new byte[]{9, 8, 7}, image.bytes());
        assertEquals(new ImageRef.InlineImage("image/png", new byte[]{9, 8, 7}), image);
        assertEquals(new ImageRef.InlineImage("image/png", new byte[]{9, 8, 7}).hashCode(), image.hashCode());
        assertNotEquals(new ImageRef.InlineImage("image/webp", new byte[]{9, 8, 7}), image);
        assertFalse(image.toString().contains("9"), image.toString());
    }

    @Test
    void theModelRefusesReferencesThatBreakTheRules() {
        assertThrows(IllegalArgumentException.class, () -> new ImageRef.ArchiveFile("../x.png"));
        assertThrows(IllegalArgumentException.class, () -> new ImageRef.RemoteUrl(URI.create("https://10.1.2.3/")));
        assertThrows(IllegalArgumentException.class, () -> new ImageRef.RemoteUrl(URI.create("http://example.com/")));
        assertThrows(IllegalArgumentException.class, () -> new ImageRef.InlineImage("image/gif", new byte[1]));
    }
}
