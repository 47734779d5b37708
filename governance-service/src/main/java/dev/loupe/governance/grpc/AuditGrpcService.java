package dev.loupe.governance.grpc;

import java.time.Instant;
import java.util.List;

import com.google.protobuf.ByteString;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

import dev.loupe.audit.AuditEntry;
import dev.loupe.contracts.common.v1.PageInfo;
import dev.loupe.contracts.common.v1.PageRequest;
import dev.loupe.contracts.governance.v1.AppendEventsRequest;
import dev.loupe.contracts.governance.v1.AppendEventsResponse;
import dev.loupe.contracts.governance.v1.EvidenceChunk;
import dev.loupe.contracts.governance.v1.ExportEvidenceRequest;
import dev.loupe.contracts.governance.v1.ListEventsRequest;
import dev.loupe.contracts.governance.v1.ListEventsResponse;
import dev.loupe.contracts.governance.v1.MutinyAuditServiceGrpc;
import dev.loupe.contracts.governance.v1.VerifyChainRequest;
import dev.loupe.contracts.governance.v1.VerifyChainResponse;
import dev.loupe.governance.repository.AuditChainRepository.EventFilter;
import dev.loupe.governance.service.AuditChainService;
import dev.loupe.governance.service.EvidenceExportService;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.grpc.ProtoTime;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Caller;
import dev.loupe.support.security.Capability;

/**
 * The audit trail's gRPC API (contract {@code loupe.governance.v1.AuditService}). Services append with their
 * service accounts; a compliance officer verifies their own tenant's chain. RPCs not overridden here answer
 * {@code PERMISSION_DENIED} until they are implemented with their capability.
 */
@GrpcService
public class AuditGrpcService extends MutinyAuditServiceGrpc.AuditServiceImplBase {
    static final int DEFAULT_PAGE = 20;
    static final int MAX_PAGE = 100;

    private final AuditChainService chains;
    private final EvidenceExportService exports;

    public AuditGrpcService(AuditChainService chains, EvidenceExportService exports) {
        this.chains = chains;
        this.exports = exports;
    }

    @Override
    @Authorized(Capability.AUDIT_APPEND)
    public Uni<AppendEventsResponse> appendEvents(AppendEventsRequest request) {
        return Uni.createFrom()
                .item(() -> AuditEvents.fromProto(request.getEventsList()))
                .chain(chains::append)
                .map(result -> AppendEventsResponse.newBuilder()
                        .addAllAppendedEventIds(result.appended().stream().map(Object::toString).toList())
                        .addAllDuplicateEventIds(result.duplicates().stream().map(Object::toString).toList())
                        .build());
    }

    @Override
    @Authorized(Capability.AUDIT_READ)
    public Uni<ListEventsResponse> listEvents(ListEventsRequest request) {
        Caller caller = Caller.current();
        int limit = pageLimit(request.getPage());
        long after = afterSeq(request.getPage());
        EventFilter filter = new EventFilter(
                request.hasFrom() ? ProtoTime.toInstant(request.getFrom()) : null,
                request.hasTo() ? ProtoTime.toInstant(request.getTo()) : null, request.getActionPrefix(),
                request.getActor(), List.of(), request.getResource().getType(), request.getResource().getId(),
                AuditEvents.outcomeFilter(request.getOutcome()));
        return chains.recordAccess(caller, "audit.events.read", "{}")
                .chain(() -> chains.search(caller.requireTenant(), filter, after, request.getNewestFirst(), limit + 1))
                .map(found -> {
                    boolean more = found.size() > limit;
                    List<AuditEntry> page = more ? found.subList(0, limit) : found;
                    return ListEventsResponse.newBuilder()
                            .addAllEntries(page.stream().map(AuditEvents::toProto).toList())
                            .setPage(PageInfo.newBuilder()
                                    .setHasMore(more)
                                    .setNextAfter(more ? Long.toString(page.get(page.size() - 1).seq()) : ""))
                            .build();
                });
    }

    @Override
    @Authorized(Capability.AUDIT_READ)
    public Uni<VerifyChainResponse> verifyChain(VerifyChainRequest request) {
        Caller caller = Caller.current();
        if (request.getFromSeq() < 0 || request.getToSeq() < 0) {
            throw ProblemException.invalid(request.getFromSeq() < 0 ? "from_seq" : "to_seq",
                    "sequence numbers start at 1 (to_seq 0: the end of the chain)");
        }
        if (request.getToSeq() > 0 && request.getToSeq() < request.getFromSeq()) {
            throw ProblemException.invalid("to_seq", "to_seq must not be before from_seq");
        }
        return chains.verify(caller.requireTenant(), request.getFromSeq(), request.getToSeq())
                .call(verification -> chains.recordAccess(caller, "audit.chain.verified",
                        "{\"from_seq\":" + request.getFromSeq() + ",\"to_seq\":" + request.getToSeq()
                                + ",\"valid\":" + verification.valid() + "}"))
                .map(verification -> VerifyChainResponse.newBuilder()
                        .setValid(verification.valid())
                        .setChecked(verification.checked())
                        .setFirstInvalidSeq(verification.firstInvalidSeq())
                        .setReason(verification.reason())
                        .build());
    }

    @Override
    @Authorized(Capability.AUDIT_READ)
    public Multi<EvidenceChunk> exportEvidence(ExportEvidenceRequest request) {
        Caller caller = Caller.current();
        Instant from = request.hasFrom() ? ProtoTime.toInstant(request.getFrom()) : null;
        Instant to = request.hasTo() ? ProtoTime.toInstant(request.getTo()) : null;
        if (from != null && to != null && !from.isBefore(to)) {
            return Multi.createFrom().failure(ProblemException.invalid("to", "to must be after from"));
        }
        return exports.export(caller, from, to)
                .map(bytes -> EvidenceChunk.newBuilder().setData(ByteString.copyFrom(bytes)).build());
    }

    private static int pageLimit(PageRequest page) {
        if (page.getLimit() == 0) {
            return DEFAULT_PAGE;
        }
        if (page.getLimit() < 1 || page.getLimit() > MAX_PAGE) {
            throw ProblemException.invalid("limit", "limit must be between 1 and " + MAX_PAGE);
        }
        return page.getLimit();
    }

    /** The cursor is the sequence number of the previous page's last entry. */
    private static long afterSeq(PageRequest page) {
        if (page.getAfter().isEmpty()) {
            return 0;
        }
        try {
            long seq = Long.parseLong(page.getAfter());
            if (seq > 0) {
                return seq;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw ProblemException.invalid("after", "after must be the next_after of a previous page");
    }
}
