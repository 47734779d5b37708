package dev.loupe.support.audit;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.smallrye.mutiny.Uni;

import dev.loupe.support.config.AuthConfig;
import dev.loupe.support.config.ServiceAccountConfig;

/**
 * Access tokens of this service's own Keycloak client (client-credentials grant), cached until shortly before
 * they expire. Also used outside a service (the trainer workers' agent in a Kubernetes pod) with its plain
 * constructor.
 */
@ApplicationScoped
public class ServiceAccountTokens {
    /** A token is replaced this long before it expires, so that none expires in flight. */
    private static final long RENEW_BEFORE_SECONDS = 30;

    private record Cached(String token, Instant renewAt) {
    }

    private final Optional<String> clientId;
    private final Optional<String> clientSecret;
    private final String tokenUrl;
    private final Duration timeout;
    private final HttpClient http;
    private final ObjectMapper json = new ObjectMapper();
    private volatile Cached cached;

    @Inject
    public ServiceAccountTokens(ServiceAccountConfig config, AuthConfig auth) {
        this(config.tokenUrl().orElse(auth.issuer() + "/protocol/openid-connect/token"), config.clientId(),
                config.clientSecret(), config.timeout());
    }

    public ServiceAccountTokens(String tokenUrl, Optional<String> clientId, Optional<String> clientSecret,
            Duration timeout) {
        this.tokenUrl = tokenUrl;
        this.clientId = clientId;
        this.clientSecret = clientSecret;
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
    }

    /** A valid access token of this service's client. */
    public Uni<String> token() {
        Cached current = cached;
        if (current != null && Instant.now().isBefore(current.renewAt())) {
            return Uni.createFrom().item(current.token());
        }
        String clientId = this.clientId
                .orElseThrow(() -> new IllegalStateException("loupe.service-account.client-id is not set"));
        String secret = clientSecret
                .orElseThrow(() -> new IllegalStateException("loupe.service-account.client-secret is not set"));
        String form = "grant_type=client_credentials&client_id=" + URLEncoder.encode(clientId, StandardCharsets.UTF_8)
                + "&client_secret=" + URLEncoder.encode(secret, StandardCharsets.UTF_8);
        HttpRequest request = HttpRequest.newBuilder(URI.create(tokenUrl))
                .timeout(timeout)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form))
                .build();
        return Uni.createFrom()
                .completionStage(() -> http.sendAsync(request, HttpResponse.BodyHandlers.ofString()))
                .map(response -> {
                    if (response.statusCode() != 200) {
                        // The body may echo the client id; never the secret. The status says enough.
                        throw new IllegalStateException("Keycloak refused the service account token: HTTP "
                                + response.statusCode());
                    }
                    try {
                        JsonNode body = json.readTree(response.body());
                        String token = body.path("access_token").asText();
                        long expiresIn = body.path("expires_in").asLong(60);
                        cached = new Cached(token,
                                Instant.now().plusSeconds(Math.max(1, expiresIn - RENEW_BEFORE_SECONDS)));
                        return token;
                    } catch (java.io.IOException e) {
                        throw new IllegalStateException("Keycloak answered the token request with something else"
                                + " than JSON", e);
                    }
                });
    }
}
