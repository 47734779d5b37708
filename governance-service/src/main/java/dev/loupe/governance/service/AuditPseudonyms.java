package dev.loupe.governance.service;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;

import dev.loupe.audit.AuditEvent;
import dev.loupe.support.kms.KeyedHash;
import dev.loupe.support.kms.KeyedHashes;

/**
 * Replaces personal identifiers with their keyed hashes before events enter the trail: the usernames of the
 * actor and of the user a service acted for, and a {@code client_address} in the details (which becomes
 * {@code client_address_hash}). The trail is never rewritten, so nothing that identifies a person in clear may
 * go into it; a keyed hash still lets a compliance officer find every entry of a user or an address, and only
 * through Loupe. Each chain has its own HMAC key in the KMS ({@code audit-pseudonyms-<chain>}): the same person
 * hashes differently in two tenants, and destroying a tenant's key unlinks all its hashes while its chain still
 * verifies. Identifiers are hashed alike whatever their kind, so one search finds a name wherever it appears.
 *
 * <p>
 * Hashes are cached for an hour, because the same few users produce most events and the Vault provider costs
 * a network call per hash; a key rotated in the KMS is therefore used for a cached identifier within the hour.
 */
@ApplicationScoped
public class AuditPseudonyms {
    static final int CACHE_SIZE = 10_000;
    static final long CACHE_NANOS = 3_600_000_000_000L;
    /** Domain of the hashed bytes, so that these hashes cannot be confused with other uses of a key. */
    private static final String DOMAIN = "loupe.audit.identifier.v1\n";
    /** The detail that names the client's network address, which identifies a person as well as a name does. */
    static final String CLIENT_ADDRESS = "client_address";
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Cached(String hash, long expiresAt) {
    }

    private final KeyedHashes keys;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();

    public AuditPseudonyms(KeyedHashes keys) {
        this.keys = keys;
    }

    /** The KMS key of a chain's pseudonyms. */
    public static String keyName(String chain) {
        return "audit-pseudonyms-" + chain;
    }

    /**
     * The events with each username (carried in clear in the username-hash fields) and client address replaced
     * by its keyed hash. Answers at once when every hash is cached; otherwise asks the KMS on a worker thread,
     * since that may block.
     */
    public Uni<List<AuditEvent>> pseudonymise(List<AuditEvent> events) {
        long now = System.nanoTime();
        boolean allCached = events.stream().allMatch(event -> cached(event.chain(), event.actorUsernameHash(), now)
                && cached(event.chain(), event.onBehalfUsernameHash(), now)
                && !event.details().contains("\"" + CLIENT_ADDRESS + "\""));
        if (allCached) {
            return Uni.createFrom().item(() -> replaceAll(events));
        }
        return Uni.createFrom().item(() -> replaceAll(events)).runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
    }

    /** Every hash an identifier may be stored under in a chain, one per key version: what a search looks for. */
    public Uni<List<String>> hashesUnderEveryVersion(String chain, String identifier) {
        return Uni.createFrom().item(() -> {
            List<String> hashes = new ArrayList<>();
            for (KeyedHash hash : keys.hashesUnderEveryVersion(keyName(chain), input(identifier))) {
                hashes.add(hash.text());
            }
            return hashes;
        }).runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
    }

    private List<AuditEvent> replaceAll(List<AuditEvent> events) {
        List<AuditEvent> replaced = new ArrayList<>(events.size());
        for (AuditEvent event : events) {
            replaced.add(new AuditEvent(event.eventId(), event.occurredAt(), event.tenant(), event.actorUserId(),
                    hash(event.chain(), event.actorUsernameHash()), event.actorService(), event.onBehalfUserId(),
                    hash(event.chain(), event.onBehalfUsernameHash()), event.action(), event.resourceType(),
                    event.resourceId(), event.outcome(), event.requestId(), pseudonymiseDetails(event.chain(),
                            event.details()),
                    event.source()));
        }
        return replaced;
    }

    /** Canonical details JSON with a top-level {@code client_address} replaced by {@code client_address_hash}. */
    private String pseudonymiseDetails(String chain, String details) {
        if (!details.contains("\"" + CLIENT_ADDRESS + "\"")) {
            return details;
        }
        try {
            // Sorted keys at the top; nested objects keep the sorted order they were written in.
            TreeMap<String, Object> fields = JSON.readValue(details, new TypeReference<TreeMap<String, Object>>() {
            });
            Object address = fields.remove(CLIENT_ADDRESS);
            if (address == null) {
                return details;
            }
            fields.put(CLIENT_ADDRESS + "_hash", hash(chain, address.toString()));
            return JSON.writeValueAsString(fields);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("details were checked as JSON before", e);
        }
    }

    private boolean cached(String chain, String identifier, long now) {
        if (identifier.isEmpty()) {
            return true;
        }
        Cached cached = cache.get(cacheKey(chain, identifier));
        return cached != null && cached.expiresAt() - now > 0;
    }

    private String hash(String chain, String identifier) {
        if (identifier.isEmpty()) {
            return "";
        }
        long now = System.nanoTime();
        String cacheKey = cacheKey(chain, identifier);
        Cached cached = cache.get(cacheKey);
        if (cached != null && cached.expiresAt() - now > 0) {
            return cached.hash();
        }
        String hash = keys.hash(keyName(chain), input(identifier)).text();
        if (cache.size() >= CACHE_SIZE) {
            // Simple bound rather than an LRU: refilling costs one KMS call per active user.
            cache.clear();
        }
        cache.put(cacheKey, new Cached(hash, now + CACHE_NANOS));
        return hash;
    }

    private static String cacheKey(String chain, String identifier) {
        return chain + '\n' + identifier;
    }

    /** Identifiers are compared without case, as Keycloak compares usernames. */
    private static byte[] input(String identifier) {
        return (DOMAIN + identifier.toLowerCase(Locale.ROOT)).getBytes(StandardCharsets.UTF_8);
    }
}
