package dev.loupe.governance;

import io.grpc.Channel;
import io.quarkus.test.junit.QuarkusTest;

import dev.loupe.contracts.governance.v1.AuditServiceGrpc;
import dev.loupe.contracts.governance.v1.ListEventsRequest;
import dev.loupe.support.testing.GrpcAuthenticationContract;

/** Token abuse on the governance-service's own gRPC port. */
@QuarkusTest
class GovernanceGrpcAuthenticationTest extends GrpcAuthenticationContract {

    @Override
    protected int port() {
        return 18084;
    }

    @Override
    protected String authorizedUser() {
        return "acme-compliance";
    }

    @Override
    protected void callAnRpc(Channel channel) {
        AuditServiceGrpc.newBlockingStub(channel).listEvents(ListEventsRequest.getDefaultInstance());
    }
}
