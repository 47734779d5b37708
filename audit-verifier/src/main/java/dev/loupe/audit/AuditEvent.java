package dev.loupe.audit;

import java.time.Instant;
import java.util.UUID;

/**
 * What a producer reports happened, as the governance-service stores it. Strings are never null (empty when
 * absent); {@code details} is canonical JSON (keys sorted, no spaces); times are whole microseconds.
 *
 * @param eventId chosen by the producer; appended at most once
 * @param tenant empty for platform events
 * @param actorService client id of the service that acted, when a service acted
 * @param onBehalfUserId the user on whose behalf a service acted, if any
 * @param action stable dotted name, e.g. {@code dataset.created}
 * @param outcome {@code success}, {@code denied} or {@code failed}
 * @param source the service that produced the event
 */
public record AuditEvent(UUID eventId, Instant occurredAt, String tenant, String actorUserId, String actorUsername,
        String actorService, String onBehalfUserId, String onBehalfUsername, String action, String resourceType,
        String resourceId, String outcome, String requestId, String details, String source) {

    /** The chain an event belongs to: its tenant's, or the platform's. */
    public String chain() {
        return tenant.isEmpty() ? PLATFORM_CHAIN : tenant;
    }

    /** Name of the chain of events that belong to no tenant. */
    public static final String PLATFORM_CHAIN = "platform";
}
