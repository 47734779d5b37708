package dev.loupe.support.net;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import io.smallrye.config.WithDefault;

/** The settings of {@link RemoteImages}: a configuration group of each service that fetches pictures. */
public interface RemoteImageSettings {
    /**
     * Hosts whose {@code https://} pictures may be fetched: exact names ({@code images.example.org}) or every
     * subdomain of one ({@code *.example.org}). Empty (the default): every remote picture is refused. Whatever the
     * list, a host that resolves to a loopback, link-local or private address is refused.
     */
    Optional<List<String>> allowedHosts();

    /** How long one picture may take, connection included. */
    @WithDefault("20S")
    Duration timeout();

    /**
     * A PKCS#12 trust store for the hosts' certificates, when they are not signed by a certificate authority the
     * JVM trusts.
     */
    Optional<Path> trustStore();

    /** Its password. */
    Optional<String> trustStorePassword();
}
