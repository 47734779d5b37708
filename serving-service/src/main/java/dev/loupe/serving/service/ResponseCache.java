package dev.loupe.serving.service;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import jakarta.enterprise.context.ApplicationScoped;

import dev.loupe.contracts.serving.v1.CompletionRequest;
import dev.loupe.serving.config.ServingConfig;
import dev.loupe.serving.inference.CompletionResult;

/**
 * Answers of deterministic requests (temperature 0, or a seed), kept a while in memory for the same request to the
 * same model version in the same tenant. The key is an HMAC under a key this process draws at start and never
 * keeps anywhere else, over the tenant, the model version and the whole request (its pictures' bytes, prompt and
 * sampling settings): the cache holds no picture and no hash that could be matched against a known picture.
 */
@ApplicationScoped
public class ResponseCache {
    private final byte[] key = new byte[32];
    private final ServingConfig config;
    private final Map<String, Entry> entries;

    private record Entry(CompletionResult result, long expiresAtNanos) {
    }

    public ResponseCache(ServingConfig config) {
        this.config = config;
        new SecureRandom().nextBytes(key);
        int capacity = config.cache().maxEntries();
        // Least recently used first, dropped beyond the capacity.
        this.entries = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Entry> eldest) {
                return size() > capacity;
            }
        };
    }

    /** The request's cache key; empty when the request samples at random (no seed and a temperature above 0). */
    public Optional<String> key(String tenant, String modelVersionId, CompletionRequest request) {
        boolean deterministic = request.hasSeed() || (request.hasTemperature() && request.getTemperature() == 0);
        if (!deterministic) {
            return Optional.empty();
        }
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            mac.update((tenant + '\0' + modelVersionId + '\0').getBytes(StandardCharsets.UTF_8));
            // The deployment's name is not part of the answer: the model version is.
            mac.update(request.toBuilder().clearDeploymentId().build().toByteArray());
            return Optional.of(HexFormat.of().formatHex(mac.doFinal()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is not available", e);
        }
    }

    public synchronized Optional<CompletionResult> get(String cacheKey) {
        Entry entry = entries.get(cacheKey);
        if (entry == null) {
            return Optional.empty();
        }
        if (System.nanoTime() - entry.expiresAtNanos() > 0) {
            entries.remove(cacheKey);
            return Optional.empty();
        }
        return Optional.of(entry.result().fromCache());
    }

    public synchronized void put(String cacheKey, CompletionResult result) {
        entries.put(cacheKey, new Entry(result, System.nanoTime() + config.cache().ttl().toNanos()));
    }
}
