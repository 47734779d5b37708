package dev.loupe.governance;

import io.grpc.Channel;
import io.grpc.Status;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.governance.v1.AuditServiceGrpc;
import dev.loupe.contracts.governance.v1.ListEventsRequest;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.support.testing.GrpcAuthenticationContract;
import dev.loupe.support.testing.KeycloakTokens;

import static dev.loupe.support.testing.GrpcAuthenticationContract.assertFailsWith;

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

    @Test
    void rpcWithoutMatrixEntryIsDenied() {
        assertFailsWith(Status.Code.PERMISSION_DENIED, () -> AuditServiceGrpc.newBlockingStub(channel)
                .withCallCredentials(new BearerCallCredentials(KeycloakTokens.accessToken(authorizedUser()), null))
                .listEvents(ListEventsRequest.getDefaultInstance()));
    }
}
