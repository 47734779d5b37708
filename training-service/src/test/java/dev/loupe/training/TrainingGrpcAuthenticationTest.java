package dev.loupe.training;

import io.grpc.Channel;
import io.grpc.Status;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.training.v1.ListJobsRequest;
import dev.loupe.contracts.training.v1.ListModelVersionsRequest;
import dev.loupe.contracts.training.v1.TrainingServiceGrpc;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.support.testing.GrpcAuthenticationContract;
import dev.loupe.support.testing.KeycloakTokens;

import static dev.loupe.support.testing.GrpcAuthenticationContract.assertFailsWith;

/** Token abuse on the training-service's own gRPC port. */
@QuarkusTest
class TrainingGrpcAuthenticationTest extends GrpcAuthenticationContract {

    @Override
    protected int port() {
        return 18082;
    }

    @Override
    protected String authorizedUser() {
        return "acme-engineer";
    }

    @Override
    protected void callAnRpc(Channel channel) {
        TrainingServiceGrpc.newBlockingStub(channel).listJobs(ListJobsRequest.getDefaultInstance());
    }

    @Test
    void rpcWithoutMatrixEntryIsDenied() {
        assertFailsWith(Status.Code.PERMISSION_DENIED, () -> TrainingServiceGrpc.newBlockingStub(channel)
                .withCallCredentials(new BearerCallCredentials(KeycloakTokens.accessToken(authorizedUser()), null))
                .listModelVersions(ListModelVersionsRequest.getDefaultInstance()));
    }
}
