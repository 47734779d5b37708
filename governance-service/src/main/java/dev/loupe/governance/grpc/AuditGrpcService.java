package dev.loupe.governance.grpc;

import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Uni;

import dev.loupe.contracts.governance.v1.AppendEventsRequest;
import dev.loupe.contracts.governance.v1.AppendEventsResponse;
import dev.loupe.contracts.governance.v1.MutinyAuditServiceGrpc;
import dev.loupe.contracts.governance.v1.VerifyChainRequest;
import dev.loupe.contracts.governance.v1.VerifyChainResponse;
import dev.loupe.governance.service.AuditChainService;
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
    private final AuditChainService chains;

    public AuditGrpcService(AuditChainService chains) {
        this.chains = chains;
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
    public Uni<VerifyChainResponse> verifyChain(VerifyChainRequest request) {
        String tenant = Caller.current().requireTenant();
        return chains.verify(tenant, request.getFromSeq(), request.getToSeq())
                .map(verification -> VerifyChainResponse.newBuilder()
                        .setValid(verification.valid())
                        .setChecked(verification.checked())
                        .setFirstInvalidSeq(verification.firstInvalidSeq())
                        .setReason(verification.reason())
                        .build());
    }
}
