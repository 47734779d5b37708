package dev.loupe.gateway.rest;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import io.quarkus.grpc.GrpcClient;
import io.quarkus.security.identity.CurrentIdentityAssociation;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.resteasy.reactive.RestMulti;
import org.jboss.resteasy.reactive.RestQuery;

import dev.loupe.contracts.common.v1.PageRequest;
import dev.loupe.contracts.governance.v1.ExportEvidenceRequest;
import dev.loupe.contracts.governance.v1.ListEventsRequest;
import dev.loupe.contracts.governance.v1.MutinyAuditServiceGrpc.MutinyAuditServiceStub;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.contracts.governance.v1.ResourceRef;
import dev.loupe.contracts.governance.v1.VerifyChainRequest;
import dev.loupe.gateway.api.AuditEntryView;
import dev.loupe.gateway.api.ListPage;
import dev.loupe.gateway.api.VerificationView;
import dev.loupe.gateway.grpc.DownstreamCalls;
import dev.loupe.gateway.security.AuthorizationFilter;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.grpc.ProtoTime;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Capability;

/**
 * The compliance officer's view of their tenant's audit trail, served by the governance-service: events,
 * verification, and the evidence pack that proves them offline. Every call is itself recorded in the trail.
 */
@Path("/v1/audit")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "Audit")
public class AuditResource {
    /** An export streams for as long as the pack takes, not the short deadline of other calls. */
    private static final long EXPORT_DEADLINE_MINUTES = 30;

    private final MutinyAuditServiceStub audit;
    private final DownstreamCalls calls;
    private final CurrentIdentityAssociation identities;

    public AuditResource(@GrpcClient("governance") MutinyAuditServiceStub audit, DownstreamCalls calls,
            CurrentIdentityAssociation identities) {
        this.audit = audit;
        this.calls = calls;
        this.identities = identities;
    }

    @GET
    @Path("/events")
    @Authorized(Capability.AUDIT_READ)
    @Operation(summary = "List audit events", description = "Events of the caller's tenant, oldest first unless "
            + "`order=newest`. Filters combine: `from` (inclusive) and `to` (exclusive) ISO-8601 times of "
            + "occurrence, `action_prefix`, `actor` (user id, username or service; a username is matched through its keyed hash), `resource_type`, "
            + "`resource_id`, `outcome` (success, denied, failed). `limit` 1 to 100 (default 20); `after` is the "
            + "`next_after` of the previous page.")
    public Uni<ListPage<AuditEntryView>> events(@RestQuery String from, @RestQuery String to,
            @RestQuery("action_prefix") String actionPrefix, @RestQuery String actor,
            @RestQuery("resource_type") String resourceType, @RestQuery("resource_id") String resourceId,
            @RestQuery String outcome, @RestQuery String order, @RestQuery String limit, @RestQuery String after) {
        ListEventsRequest.Builder request = ListEventsRequest.newBuilder()
                .setPage(PageRequest.newBuilder()
                        .setLimit(DatasetResource.parseLimit(limit))
                        .setAfter(orEmpty(after)))
                .setActionPrefix(orEmpty(actionPrefix))
                .setActor(orEmpty(actor))
                .setResource(ResourceRef.newBuilder().setType(orEmpty(resourceType)).setId(orEmpty(resourceId)))
                .setOutcome(parseOutcome(outcome))
                .setNewestFirst(parseNewestFirst(order));
        Instant fromTime = parseInstant("from", from);
        Instant toTime = parseInstant("to", to);
        if (fromTime != null) {
            request.setFrom(ProtoTime.of(fromTime));
        }
        if (toTime != null) {
            request.setTo(ProtoTime.of(toTime));
        }
        return calls.retryingRead(calls.onBehalfOfCaller(audit).listEvents(request.build()))
                .map(page -> ListPage.of(page.getEntriesList().stream().map(AuditEntryView::of).toList(),
                        page.getPage().getHasMore(), page.getPage().getNextAfter()));
    }

    @GET
    @Path("/verify")
    @Authorized(Capability.AUDIT_READ)
    @Operation(summary = "Verify the audit chain", description = "Recomputes the caller's tenant chain from "
            + "`from_seq` to `to_seq` (default: all of it) and checks it against the signed checkpoints. `tenant`, "
            + "if given, must be the caller's own.")
    public Uni<VerificationView> verify(@RestQuery String tenant, @RestQuery("from_seq") String fromSeq,
            @RestQuery("to_seq") String toSeq) {
        VerifyChainRequest request = VerifyChainRequest.newBuilder()
                .setFromSeq(parseSeq("from_seq", fromSeq))
                .setToSeq(parseSeq("to_seq", toSeq))
                .build();
        MutinyAuditServiceStub onBehalf = calls.onBehalfOfCaller(audit);
        return identities.getDeferredIdentity().chain(identity -> {
            if (tenant != null && !tenant.isBlank() && !tenant.equals(AuthorizationFilter.tenantOf(identity))) {
                // Another tenant's chain answers like one that does not exist.
                return Uni.createFrom().failure(ProblemException.notFound("audit chain", tenant));
            }
            return calls.retryingRead(onBehalf.verifyChain(request)).map(VerificationView::of);
        });
    }

    @GET
    @Path("/export")
    @Produces("application/zip")
    @Authorized(Capability.AUDIT_READ)
    @Operation(summary = "Export an evidence pack", description = "A ZIP of the tenant's entries appended between "
            + "`from` (inclusive) and `to` (exclusive), extended to the next signed checkpoint, with the "
            + "checkpoints, the public verification keys and a README on the hash encoding. "
            + "audit-verifier's standalone jar checks it offline.")
    public RestMulti<byte[]> export(@RestQuery String from, @RestQuery String to) {
        ExportEvidenceRequest.Builder request = ExportEvidenceRequest.newBuilder();
        Instant fromTime = parseInstant("from", from);
        Instant toTime = parseInstant("to", to);
        if (fromTime != null) {
            request.setFrom(ProtoTime.of(fromTime));
        }
        if (toTime != null) {
            request.setTo(ProtoTime.of(toTime));
        }
        if (fromTime != null && toTime != null && !fromTime.isBefore(toTime)) {
            throw ProblemException.invalid("to", "to must be after from");
        }
        Multi<byte[]> pack = calls.onBehalfOfCaller(audit)
                .withDeadlineAfter(EXPORT_DEADLINE_MINUTES, TimeUnit.MINUTES)
                .exportEvidence(request.build())
                .map(chunk -> chunk.getData().toByteArray());
        return RestMulti.fromMultiData(pack)
                .header("Content-Disposition", "attachment; filename=\"loupe-audit-evidence.zip\"")
                .build();
    }

    private static String orEmpty(String value) {
        return value == null ? "" : value.trim();
    }

    static Instant parseInstant(String field, String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return Instant.parse(value.trim());
        } catch (DateTimeParseException e) {
            throw ProblemException.invalid(field, field + " must be an ISO-8601 time, e.g. 2026-01-31T00:00:00Z");
        }
    }

    private static long parseSeq(String field, String value) {
        if (value == null || value.isBlank()) {
            return 0;
        }
        try {
            long seq = Long.parseLong(value.trim());
            if (seq >= 1) {
                return seq;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw ProblemException.invalid(field, field + " must be a sequence number (1 or more)");
    }

    private static Outcome parseOutcome(String value) {
        if (value == null || value.isBlank()) {
            return Outcome.OUTCOME_UNSPECIFIED;
        }
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "success" -> Outcome.OUTCOME_SUCCESS;
            case "denied" -> Outcome.OUTCOME_DENIED;
            case "failed" -> Outcome.OUTCOME_FAILED;
            default -> throw ProblemException.invalid("outcome", "outcome must be success, denied or failed");
        };
    }

    private static boolean parseNewestFirst(String order) {
        if (order == null || order.isBlank() || order.trim().equals("oldest")) {
            return false;
        }
        if (order.trim().equals("newest")) {
            return true;
        }
        throw ProblemException.invalid("order", "order must be oldest or newest");
    }
}
