package dev.loupe.audit;

import java.time.Instant;
import java.util.UUID;

/**
 * What a producer reports happened, as the governance-service stores it. Strings are never null (empty when
 * absent); {@code details} is canonical JSON (keys sorted, no spaces); times are whole microseconds. Usernames
 * are personal identifiers and the trail is never rewritten, so it keeps only their keyed hashes (HMAC-SHA256
 * under the chain's own KMS key, {@code v<key version>:<hex>}): a search by username hashes the name it is given,
 * and destroying the key unlinks every hash without breaking the chain.
 *
 * @param eventId chosen by the producer; appended at most once
 * @param tenant empty for platform events
 * @param actorUserId the identity provider's subject id of the acting user
 * @param actorUsernameHash keyed hash of the acting user's username
 * @param actorService client id of the service that acted, when a service acted
 * @param onBehalfUserId the user on whose behalf a service acted, if any
 * @param onBehalfUsernameHash keyed hash of that user's username
 * @param action stable dotted name, e.g. {@code dataset.created}
 * @param outcome {@code success}, {@code denied} or {@code failed}
 * @param source the service that produced the event
 */
public record AuditEvent(UUID eventId, Instant occurredAt, String tenant, String actorUserId, String actorUsernameHash,
        String actorService, String onBehalfUserId, String onBehalfUsernameHash, String action, String resourceType,
        String resourceId, String outcome, String requestId, String details, String source) {

    /** The chain an event belongs to: its tenant's, or the platform's. */
    public String chain() {
        return tenant.isEmpty() ? PLATFORM_CHAIN : tenant;
    }

    /** Name of the chain of events that belong to no tenant. */
    public static final String PLATFORM_CHAIN = "platform";
}
