package dev.loupe.support.net;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Remote images against a real HTTPS server on this machine, with a certificate for {@code images.test} made by
 * keytool. The server listens on loopback, which the fetcher refuses: the tests that fetch give it a resolver
 * that names loopback and an address policy that lets it through; the others keep the real policy.
 */
class RemoteImagesTest {
    private static final String PASSWORD = "test-only";
    private static final byte[] IMAGE = {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3, 4};

    @TempDir
    static Path dir;
    private static HttpsServer server;
    private static Vertx vertx;
    private static Path trustStore;
    private static final Map<String, AtomicInteger> HITS = new ConcurrentHashMap<>();

    @BeforeAll
    static void startServer() throws Exception {
        Path keyStore = dir.resolve("server.p12");
        trustStore = dir.resolve("trust.p12");
        Path certificate = dir.resolve("server.der");
        keytool("-genkeypair", "-alias", "images", "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
                "CN=images.test", "-ext", "SAN=dns:images.test", "-validity", "2", "-keystore", keyStore.toString(),
                "-storetype", "PKCS12", "-storepass", PASSWORD);
        keytool("-exportcert", "-alias", "images", "-keystore", keyStore.toString(), "-storepass", PASSWORD, "-file",
                certificate.toString());
        keytool("-importcert", "-noprompt", "-alias", "images", "-file", certificate.toString(), "-keystore",
                trustStore.toString(), "-storetype", "PKCS12", "-storepass", PASSWORD);

        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = new FileInputStream(keyStore.toFile())) {
            keys.load(in, PASSWORD.toCharArray());
        }
        KeyManagerFactory managers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        managers.init(keys, PASSWORD.toCharArray());
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(managers.getKeyManagers(), null, null);
        server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        server.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            HITS.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
            switch (path) {
                case "/cat.png" -> {
                    exchange.sendResponseHeaders(200, IMAGE.length);
                    exchange.getResponseBody().write(IMAGE);
                }
                case "/moved.png" -> {
                    exchange.getResponseHeaders().add("Location", "/cat.png");
                    exchange.sendResponseHeaders(302, -1);
                }
                case "/huge.png" -> {
                    // Chunked, no length announced: the limit must hold while the body arrives.
                    exchange.sendResponseHeaders(200, 0);
                    try (OutputStream out = exchange.getResponseBody()) {
                        for (int i = 0; i < 64; i++) {
                            out.write(new byte[1024]);
                        }
                    } catch (IOException e) {
                        // the client hung up, as it should
                    }
                }
                default -> exchange.sendResponseHeaders(404, -1);
            }
            exchange.close();
        });
        server.start();
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void stopServer() throws Exception {
        server.stop(0);
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static void keytool(String... arguments) throws Exception {
        List<String> command = new java.util.ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(arguments));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertEquals(0, process.waitFor(), output);
    }

    /** Every name resolves to the test server's loopback address. */
    private static InetAddress[] loopback(String host) throws UnknownHostException {
        return new InetAddress[]{InetAddress.getLoopbackAddress()};
    }

    private RemoteImages fetcher(List<String> allowed, RemoteImages.AddressPolicy policy) {
        return new RemoteImages(vertx, allowed, 16 * 1024, Duration.ofSeconds(10), trustStore.toString(),
                PASSWORD, RemoteImagesTest::loopback, policy);
    }

    private static URI url(String host, String path) {
        return URI.create("https://" + host + ":" + server.getAddress().getPort() + path);
    }

    private static int hits(String path) {
        return HITS.getOrDefault(path, new AtomicInteger()).get();
    }

    private static RemoteImages.Reason refusal(RemoteImages fetcher, URI url) {
        return assertThrows(RemoteImages.Refused.class, () -> fetcher.fetch(url)).reason();
    }

    @Test
    void aHostOffTheAllowListIsRefusedWithoutARequest() throws Exception {
        int before = hits("/cat.png");
        try (RemoteImages fetcher = fetcher(List.of("other.test"), (address, host) -> {
        })) {
            assertEquals(RemoteImages.Reason.NOT_ALLOWED, refusal(fetcher, url("images.test", "/cat.png")));
        }
        try (RemoteImages fetcher = fetcher(List.of(), (address, host) -> {
        })) {
            assertEquals(RemoteImages.Reason.NOT_ALLOWED, refusal(fetcher, url("images.test", "/cat.png")));
        }
        assertEquals(before, hits("/cat.png"));
    }

    @Test
    void anAllowedNameThatResolvesToLoopbackIsRefusedWithoutARequest() throws Exception {
        int before = hits("/cat.png");
        try (RemoteImages fetcher = fetcher(List.of("images.test"), RemoteImages.PUBLIC_ONLY)) {
            assertEquals(RemoteImages.Reason.NOT_PUBLIC, refusal(fetcher, url("images.test", "/cat.png")));
        }
        assertEquals(before, hits("/cat.png"));
    }

    @Test
    void anAllowedHostIsFetchedOverVerifiedTls() throws Exception {
        try (RemoteImages fetcher = fetcher(List.of("*.test"), (address, host) -> {
        })) {
            assertArrayEquals(IMAGE, fetcher.fetch(url("images.test", "/cat.png")));
            // Another allowed name on the same address: its certificate does not name it, so TLS refuses.
            assertEquals(RemoteImages.Reason.FETCH_FAILED, refusal(fetcher, url("other.test", "/cat.png")));
        }
    }

    @Test
    void redirectsErrorsAndOversizedBodiesFail() throws Exception {
        try (RemoteImages fetcher = fetcher(List.of("images.test"), (address, host) -> {
        })) {
            int before = hits("/cat.png");
            assertEquals(RemoteImages.Reason.FETCH_FAILED, refusal(fetcher, url("images.test", "/moved.png")));
            assertEquals(before, hits("/cat.png"), "the redirect was not followed");
            assertEquals(RemoteImages.Reason.FETCH_FAILED, refusal(fetcher, url("images.test", "/missing.png")));
            assertEquals(RemoteImages.Reason.FETCH_FAILED, refusal(fetcher, url("images.test", "/huge.png")));
        }
    }

    @Test
    void aWildcardCoversSubdomainsOnly() throws Exception {
        try (RemoteImages fetcher = fetcher(List.of("*.example.org", "Images.Example.com"),
                RemoteImages.PUBLIC_ONLY)) {
            assertTrue(fetcher.allowed("scans.example.org"));
            assertTrue(fetcher.allowed("a.b.example.org"));
            assertFalse(fetcher.allowed("example.org"));
            assertFalse(fetcher.allowed("evilexample.org"));
            assertFalse(fetcher.allowed("example.org.evil.com"));
            assertTrue(fetcher.allowed("images.example.com"));
            assertFalse(fetcher.allowed("images.example.com.evil.com"));
        }
    }
}
