package dev.loupe.support.testing;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Real access tokens from the Keycloak that {@code .ci/run} or {@code deploy/local/stack.sh} started with
 * Loupe's realm, for the local users the realm defines (password {@code dev-password}).
 */
public final class KeycloakTokens {
    /** Keycloak's base URL; the build passes it as the {@code loupe.test.keycloak-url} system property. */
    public static final String KEYCLOAK_URL = System.getProperty("loupe.test.keycloak-url", "http://localhost:8180");
    public static final String REALM_URL = KEYCLOAK_URL + "/realms/loupe";
    private static final String PASSWORD = "dev-password";
    private static final Pattern ACCESS_TOKEN = Pattern.compile("\"access_token\"\\s*:\\s*\"([^\"]+)\"");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    /**
     * Tokens live 5 minutes (the realm's accessTokenLifespan); a cached one is fetched again after 2, so that a long
     * test run never sends an expired one.
     */
    private static final Duration REUSE = Duration.ofMinutes(2);
    private static final Map<String, Cached> CACHE = new ConcurrentHashMap<>();

    private record Cached(String token, long fetchedAtNanos) {
        boolean fresh() {
            return System.nanoTime() - fetchedAtNanos < REUSE.toNanos();
        }
    }

    private KeycloakTokens() {
    }

    /** A token for a realm user through the {@code loupe-cli} client, cached for the test run. */
    public static String accessToken(String username) {
        return cached(username, () -> passwordGrant(REALM_URL, "loupe-cli", username));
    }

    private static String cached(String key, java.util.function.Supplier<String> fetch) {
        return CACHE.compute(key, (k, held) -> held != null && held.fresh()
                ? held
                : new Cached(fetch.get(), System.nanoTime())).token();
    }

    /**
     * A service account's token (client credentials grant), e.g. for {@code loupe-dataset-service}. The secret
     * comes from the environment ({@code LOUPE_DATASET_SERVICE_CLIENT_SECRET}), which deploy/local/test.sh
     * exports from the same file Keycloak's realm import read.
     */
    public static String serviceToken(String clientId) {
        return cached("client:" + clientId, () -> {
            String variable = "LOUPE_" + clientId.replaceFirst("^loupe-", "").replace('-', '_').toUpperCase()
                    + "_CLIENT_SECRET";
            String secret = System.getenv(variable);
            if (secret == null) {
                throw new IllegalStateException(variable + " is not set; run the tests with deploy/local/test.sh");
            }
            return tokenRequest(REALM_URL, clientId,
                    Map.of("grant_type", "client_credentials", "client_id", clientId, "client_secret", secret));
        });
    }

    /** A fresh token issued through another client or another base URL of the same realm. */
    public static String passwordGrant(String realmUrl, String clientId, String username) {
        return tokenRequest(realmUrl, username,
                Map.of("grant_type", "password", "client_id", clientId, "username", username, "password", PASSWORD));
    }

    /** Posts a token request; {@code who} names the user or client in errors. */
    private static String tokenRequest(String realmUrl, String who, Map<String, String> parameters) {
        String form = parameters
                .entrySet()
                .stream()
                .map(e -> e.getKey() + "=" + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));
        HttpRequest request = HttpRequest.newBuilder(URI.create(realmUrl + "/protocol/openid-connect/token"))
                .timeout(Duration.ofSeconds(20))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form))
                .build();
        try {
            HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
            Matcher matcher = ACCESS_TOKEN.matcher(response.body());
            if (response.statusCode() != 200 || !matcher.find()) {
                throw new IllegalStateException(
                        "Keycloak refused a token for " + who + ": " + response.statusCode() + " "
                                + response.body());
            }
            return matcher.group(1);
        } catch (IOException e) {
            throw new IllegalStateException("Keycloak is not reachable at " + realmUrl
                    + "; start it with deploy/local/test.sh or deploy/local/stack.sh up", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
