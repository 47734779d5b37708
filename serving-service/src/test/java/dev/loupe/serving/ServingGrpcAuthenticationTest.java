package dev.loupe.serving;

import io.grpc.Channel;
import io.grpc.Status;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.serving.v1.GetMonitoringRequest;
import dev.loupe.contracts.serving.v1.ListDeploymentsRequest;
import dev.loupe.contracts.serving.v1.ServingServiceGrpc;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.support.testing.GrpcAuthenticationContract;
import dev.loupe.support.testing.KeycloakTokens;

import static dev.loupe.support.testing.GrpcAuthenticationContract.assertFailsWith;

/** Token abuse on the serving-service's own gRPC port. */
@QuarkusTest
class ServingGrpcAuthenticationTest extends GrpcAuthenticationContract {

    @Override
    protected int port() {
        return 18083;
    }

    @Override
    protected String authorizedUser() {
        return "acme-engineer";
    }

    @Override
    protected void callAnRpc(Channel channel) {
        ServingServiceGrpc.newBlockingStub(channel).listDeployments(ListDeploymentsRequest.getDefaultInstance());
    }

    @Test
    void rpcOutsideTheCallersRolesIsDenied() {
        // A model consumer calls deployments but does not manage them.
        assertFailsWith(Status.Code.PERMISSION_DENIED, () -> ServingServiceGrpc.newBlockingStub(channel)
                .withCallCredentials(new BearerCallCredentials(KeycloakTokens.accessToken("acme-app"), null))
                .getMonitoring(GetMonitoringRequest.getDefaultInstance()));
    }
}
