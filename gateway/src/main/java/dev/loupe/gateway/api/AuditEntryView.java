package dev.loupe.gateway.api;

import java.time.Instant;
import java.util.Map;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import dev.loupe.contracts.common.v1.Actor;
import dev.loupe.contracts.governance.v1.AuditEvent;
import dev.loupe.contracts.governance.v1.ChainEntry;
import dev.loupe.support.grpc.ProtoStructs;
import dev.loupe.support.grpc.ProtoTime;

/**
 * An audit event at its place in the tenant's chain, as the compliance API shows it.
 *
 * @param onBehalfOf the user a service acted for; null when the actor acted for itself
 * @param hash SHA-256 over the entry's canonical encoding (docs/audit-chain.md), {@code prevHash} the one before
 */
@Schema(name = "AuditEntry")
public record AuditEntryView(String object, long seq, String eventId, Instant occurredAt, Instant appendedAt,
        AuditActorView actor, AuditActorView onBehalfOf, String action, ResourceView resource, String outcome,
        String requestId, Map<String, Object> details, String source, String prevHash, String hash) {

    /**
     * Who acted: a user, a service, or both. The trail keeps no usernames, only their keyed hashes; search by
     * username with {@code actor=} to find a user's entries.
     *
     * @param usernameHash HMAC-SHA256 of the username under the tenant's key, {@code v<key version>:<hex>}
     */
    @Schema(name = "AuditActor")
    public record AuditActorView(String userId, String usernameHash, String service) {
        static AuditActorView of(Actor actor, String usernameHash) {
            return new AuditActorView(actor.getUserId(), usernameHash, actor.getService());
        }
    }

    @Schema(name = "ResourceRef")
    public record ResourceView(String type, String id) {
    }

    public static AuditEntryView of(ChainEntry entry) {
        AuditEvent event = entry.getEvent();
        Actor onBehalfOf = event.getActor().getOnBehalfOf();
        return new AuditEntryView("audit.entry", entry.getSeq(), event.getEventId(),
                ProtoTime.toInstant(event.getOccurredAt()), ProtoTime.toInstant(entry.getAppendedAt()),
                AuditActorView.of(event.getActor().getActor(), event.getActor().getActorUsernameHash()),
                onBehalfOf.getUserId().isEmpty() && event.getActor().getOnBehalfUsernameHash().isEmpty()
                        ? null
                        : AuditActorView.of(onBehalfOf, event.getActor().getOnBehalfUsernameHash()),
                event.getAction(), new ResourceView(event.getResource().getType(), event.getResource().getId()),
                event.getOutcome().name().substring("OUTCOME_".length()).toLowerCase(java.util.Locale.ROOT),
                event.getRequestId(), ProtoStructs.toJava(event.getDetails()), event.getSource(),
                entry.getPrevHash(), entry.getHash());
    }
}
