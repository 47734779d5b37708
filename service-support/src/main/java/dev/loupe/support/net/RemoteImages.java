package dev.loupe.support.net;

import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.PfxOptions;
import io.vertx.core.net.SocketAddress;

/**
 * Fetches {@code https://} images (named by import records, or by inference requests), and only those the
 * operator allows. A host must
 * be on the allow-list; its name is resolved here and every address it resolves to must be public (a public name
 * can point at a private address); then the connection goes to the address that was checked, never to a second
 * lookup of the name, so the answer cannot change in between (DNS rebinding). TLS still verifies the certificate
 * against the host name. Redirects are not followed; the size limit is enforced while the body arrives. Blocking:
 * called on a worker thread.
 */
public final class RemoteImages implements AutoCloseable {

    /** Why an image is not fetched. */
    public enum Reason {
        /** The host is not on the allow-list. */
        NOT_ALLOWED,
        /** The host resolves to an address that is not public. */
        NOT_PUBLIC,
        /** The host did not answer with the image in time and within the size limit. */
        FETCH_FAILED
    }

    /** An image not fetched, and why, in words for the caller. */
    public static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;
        private final Reason reason;

        public Refused(Reason reason, String message) {
            super(message);
            this.reason = reason;
        }

        public Reason reason() {
            return reason;
        }
    }

    /** Looks up a host name; the system resolver outside tests. */
    @FunctionalInterface
    public interface Resolver {
        InetAddress[] resolve(String host) throws UnknownHostException;
    }

    /** Decides whether a resolved address may be connected to; {@link #PUBLIC_ONLY} outside tests. */
    @FunctionalInterface
    public interface AddressPolicy {
        void check(InetAddress address, String host) throws Refused;
    }

    public static final AddressPolicy PUBLIC_ONLY = (address, host) -> {
        java.util.Optional<String> why = PublicAddresses.whyNotPublic(address);
        if (why.isPresent()) {
            throw new Refused(Reason.NOT_PUBLIC, "the host " + host + " is not a public address: " + why.get());
        }
    };

    private final List<String> allowedHosts;
    private final long maxBytes;
    private final Duration timeout;
    private final Resolver resolver;
    private final AddressPolicy addresses;
    private final HttpClient client;

    /**
     * @param allowedHosts exact host names, or {@code *.domain} for every subdomain of one; empty refuses all
     * @param trustStore a PKCS#12 trust store, or null for the JVM's certificate authorities
     */
    public RemoteImages(Vertx vertx, List<String> allowedHosts, long maxBytes, Duration timeout,
            String trustStore, String trustStorePassword, Resolver resolver, AddressPolicy addresses) {
        this.allowedHosts = allowedHosts.stream().map(host -> host.toLowerCase(Locale.ROOT)).toList();
        this.maxBytes = maxBytes;
        this.timeout = timeout;
        this.resolver = resolver;
        this.addresses = addresses;
        HttpClientOptions options = new HttpClientOptions()
                .setSsl(true)
                .setVerifyHost(true)
                .setForceSni(true)
                .setConnectTimeout((int) timeout.toMillis())
                .setMaxPoolSize(4);
        if (trustStore != null) {
            options.setTrustOptions(new PfxOptions().setPath(trustStore).setPassword(trustStorePassword));
        }
        this.client = vertx.createHttpClient(options);
    }

    /**
     * A fetcher with the service's settings, the system's resolver and {@link #PUBLIC_ONLY}.
     *
     * @param maxBytes the largest picture
     */
    public static RemoteImages of(Vertx vertx, RemoteImageSettings settings, long maxBytes) {
        return new RemoteImages(vertx, settings.allowedHosts().orElse(List.of()), maxBytes, settings.timeout(),
                settings.trustStore().map(java.nio.file.Path::toString).orElse(null),
                settings.trustStorePassword().orElse(null), InetAddress::getAllByName, PUBLIC_ONLY);
    }

    /** Whether the allow-list names the host. */
    boolean allowed(String host) {
        for (String allowed : allowedHosts) {
            if (allowed.startsWith("*.") ? host.endsWith(allowed.substring(1)) : host.equals(allowed)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The image's bytes.
     *
     * @throws Refused {@link Reason#NOT_ALLOWED} for a host not on the allow-list, {@link Reason#NOT_PUBLIC} for one
     *         that resolves to an address that is not public, {@link Reason#FETCH_FAILED} when the host does not
     *         answer with the image in time and within the size limit
     */
    public byte[] fetch(URI url) throws Refused {
        String host = url.getHost().toLowerCase(Locale.ROOT);
        if (host.endsWith(".")) {
            host = host.substring(0, host.length() - 1);
        }
        if (!allowed(host)) {
            throw new Refused(Reason.NOT_ALLOWED, "the host " + host
                    + " is not on the operator's allow-list for remote images; send the picture itself instead");
        }
        InetAddress[] resolved;
        try {
            resolved = resolver.resolve(host);
        } catch (UnknownHostException e) {
            throw failed(host, "the host name does not resolve");
        }
        for (InetAddress address : resolved) {
            addresses.check(address, host + " (" + address.getHostAddress() + ")");
        }
        int port = url.getPort() == -1 ? 443 : url.getPort();
        String path = url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath();
        RequestOptions request = new RequestOptions()
                .setMethod(HttpMethod.GET)
                .setServer(SocketAddress.inetSocketAddress(port, resolved[0].getHostAddress()))
                .setHost(host)
                .setPort(port)
                .setSsl(true)
                .setURI(url.getRawQuery() == null ? path : path + "?" + url.getRawQuery())
                .setFollowRedirects(false)
                .setIdleTimeout(timeout.toMillis());
        AtomicReference<HttpClientRequest> sent = new AtomicReference<>();
        Future<byte[]> body = client.request(request)
                .compose(call -> {
                    sent.set(call);
                    return call.send();
                })
                .compose(this::readBody);
        try {
            return body.toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            // Hang up: a host that drips bytes must not keep the connection (and its pool slot) busy.
            HttpClientRequest call = sent.get();
            if (call != null) {
                call.reset();
            }
            throw failed(host, "no complete answer within " + timeout.toSeconds() + " s");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Refusal refusal) {
                throw failed(host, refusal.getMessage());
            }
            throw failed(host, "the request failed: " + cause.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw failed(host, "interrupted");
        }
    }

    /** The body, refused past the size limit as soon as it is known to be too large. */
    private Future<byte[]> readBody(HttpClientResponse response) {
        // A refused answer is cut short; the reset it causes is expected, not an error to log.
        response.exceptionHandler(ignored -> {
        });
        if (response.statusCode() != 200) {
            response.request().reset();
            return Future.failedFuture(new Refusal(response.statusCode() >= 300 && response.statusCode() < 400
                    ? "it answered with a redirect (" + response.statusCode() + "), which is not followed"
                    : "it answered with status " + response.statusCode()));
        }
        String length = response.getHeader("Content-Length");
        if (length != null && length.matches("[0-9]{1,18}") && Long.parseLong(length) > maxBytes) {
            response.request().reset();
            return Future.failedFuture(new Refusal("the image is larger than " + maxBytes + " bytes"));
        }
        Promise<byte[]> done = Promise.promise();
        Buffer body = Buffer.buffer();
        response.handler(piece -> {
            if (body.length() + piece.length() > maxBytes) {
                response.request().reset();
                done.tryFail(new Refusal("the image is larger than " + maxBytes + " bytes"));
                return;
            }
            body.appendBuffer(piece);
        });
        response.exceptionHandler(done::tryFail);
        response.endHandler(end -> done.tryComplete(body.getBytes()));
        return done.future();
    }

    private static Refused failed(String host, String why) {
        return new Refused(Reason.FETCH_FAILED, "the image could not be fetched from " + host + ": " + why);
    }

    @Override
    public void close() throws IOException {
        client.close();
    }

    /** Why an answer is refused; a message for the report. */
    private static final class Refusal extends Exception {
        private static final long serialVersionUID = 1L;

        Refusal(String message) {
            super(message, null, false, false);
        }
    }
}
